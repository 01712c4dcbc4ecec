import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A guest that idles in HLT until its timer fires (guests/rtos) must not be
// taken for a guest halted for good: `run` waits through HLT, and stops only
// when the next step cannot wake it either.
describe('mesovirt run through HLT', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mesovirt-halt-'));
  const image = join(dir, 'rtos.bin');
  const built = spawnSync(process.execPath, ['bin/mesovirt.js', 'asm', 'guests/rtos/rtos.asm', '-o', image, '--format', 'bin'], { encoding: 'utf8' });

  for (const machine of ['model', 'impl']) {
    it(`the timer wakes the RTOS guest from HLT on ${machine}; it runs to its exit`, () => {
      expect(built.status).toBe(0);
      const run = spawnSync(process.execPath, ['bin/mesovirt.js', 'run', image, '--machine', machine], { encoding: 'utf8', timeout: 120_000 });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(1);
      // Worked by hand (see guests/rtos/README.md): A runs at ticks 2..14, C at 5, 10, 15.
      expect(run.stdout.match(/task A run/g)?.length).toBe(7);
      expect(run.stdout).toContain('[rtos] task C run 3 at tick 15\n[rtos] done\n');
    });
  }
});
