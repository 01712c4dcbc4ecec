// [DIFF.REPLAY.1] A differential failure is written to a replay file that
// reproduces it. A failure is made with an impl mutant (impl/mutants.ts:
// SBB that ignores its carry in, which the manual's SBB = a - (b + CF)
// forbids): the property writes a replay file, which still differs while
// the mutant is active and agrees once it is off, on the command line too.
// Malformed files are refused with the field named and no stack trace.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mutation } from '../impl/mutants';
import { runDiffProperty } from '../properties/diff/property';
import { loadReplay, rerunReplay } from '../properties/replay/run';

const dir = mkdtempSync(join(tmpdir(), 'mesovirt-replay-'));
const cli = (...args: string[]) => spawnSync('node', ['bin/mesovirt.js', ...args], { encoding: 'utf8' });

describe('[DIFF.REPLAY.1] replay files', () => {
  afterEach(() => { mutation.active = null; });
  let replayPath = '';

  it('a failing property writes a replay file that reproduces the failure', () => {
    mutation.active = 'sbb-drops-carry';
    const r = runDiffProperty(300, { replayDir: dir });
    expect(r.failure).not.toBeNull();
    expect(r.replayPath).not.toBeNull();
    replayPath = r.replayPath!;
    expect(r.failure).toContain('seed ');
    expect(r.failure).toContain(`replay file: ${replayPath}`);
    const replay = loadReplay(replayPath);
    // The shrunk stream holds an SBB, and the carry flag was set going in.
    expect(r.failure).toMatch(/\bsbb\b/);
    const again = rerunReplay(replay, replayPath);
    expect(again.differs).toBe(true);
    expect(again.report).toContain(replay.failure.differences[0]!);
    mutation.active = null;
    expect(rerunReplay(replay, replayPath).differs).toBe(false);
  });

  it('`mesovirt replay FILE` exits 0 when the machines now agree', () => {
    const agree = cli('replay', replayPath);
    expect(agree.status).toBe(0);
    expect(agree.stdout).toContain('now agree');
    const json = JSON.parse(readFileSync(replayPath, 'utf8'));
    expect(json.format).toBe('mesovirt-replay/1');
    expect(json.scenario.code.bytes.length).toBeGreaterThan(0);
  });

  it('a malformed replay file is refused with the field named, without a stack trace', () => {
    const good = JSON.parse(readFileSync(replayPath, 'utf8'));
    const cases: Array<[string, (j: any) => void, string]> = [
      ['bad register', (j) => { j.scenario.initial.regs.eax = 'zero'; }, 'scenario.initial.regs.eax'],
      ['missing seed', (j) => { delete j.seed; }, 'seed'],
      ['bad base64 page', (j) => { j.scenario.pages[0].bytes = '***'; }, 'scenario.pages.0.bytes'],
      ['wrong machine', (j) => { j.machines = ['model', 'qemu']; }, 'machines.1'],
      ['wrong format', (j) => { j.format = 'something-else'; }, 'format'],
    ];
    for (const [name, change, field] of cases) {
      const j = structuredClone(good);
      change(j);
      const file = join(dir, `${name.replace(/ /g, '-')}.json`);
      writeFileSync(file, JSON.stringify(j));
      expect(() => loadReplay(file), name).toThrow(`field '${field}'`);
    }
    // On the command line: exit 2, the message, no stack trace.
    const r = cli('replay', join(dir, 'bad-register.json'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`field 'scenario.initial.regs.eax'`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const notJson = join(dir, 'not-json.json');
    writeFileSync(notJson, '{ nope');
    expect(() => loadReplay(notJson)).toThrow('not JSON');
    expect(() => loadReplay(join(dir, 'absent.json'))).toThrow('cannot read the replay file');
  });
});
