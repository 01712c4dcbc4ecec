import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';

// `npm start` is the first thing a newcomer runs: it must work with no
// outside tool and show the real thing, not a canned text.
describe('the demo (npm start)', () => {
  it('boots hello on both machines and the meso teach build under the monitor with the native transcript', () => {
    const run = spawnSync(process.execPath, ['bin/mesovirt.js', 'demo'], { encoding: 'utf8', timeout: 300_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('model: "hello from mesovirt\\n"');
    expect(run.stdout).toContain('impl : "hello from mesovirt\\n"');
    expect(run.stdout).toMatch(/mov dx, 0xe9/);
    expect(run.stdout).toContain('[kernel] all processes exited');
    expect(run.stdout).toContain('console transcript identical to the native run');
    expect(run.stdout).toMatch(/2 %ifdef MESO blocks, 8 lines changed/);
    // Linux on impl: its first console line and init's verdict.
    expect(run.stdout).toMatch(/^ {4}Linux version 6\.1\.\d+ \(mesovirt@mesovirt\)/m);
    expect(run.stdout).toMatch(/^ {4}init: \d+ passed, 0 failed$/m);
    expect(run.stdout).toMatch(/instructions, [\d.]+ s, exit code 1$/m);
  });
});
