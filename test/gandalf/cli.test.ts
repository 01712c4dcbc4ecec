// `mesovirt run gandalf.bin --module GUEST` and `mesovirt audit GUEST
// --monitor gandalf [--mutant NAME]`, as a user runs them (a child process).
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGandalf } from '../../properties/gandalf/build';
import { teachMeso } from '../../properties/gandalf/guests';

const ROOT = join(import.meta.dirname, '..', '..');
const mesovirt = (...args: string[]) => spawnSync('node', [join(ROOT, 'bin', 'mesovirt.js'), ...args], { encoding: 'utf8', cwd: ROOT, timeout: 300_000 });

describe('[VMM.ISO] [VMM.SEG] [VMM.RING] [VMM.RES] gandalf from the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gandalf-cli-'));
  const gandalf = join(dir, 'gandalf.bin');
  const meso = join(dir, 'teach-meso.bin');
  beforeAll(() => {
    writeFileSync(gandalf, buildGandalf());
    writeFileSync(meso, teachMeso());
  }, 60_000);

  it('run gandalf.bin --module teach-meso.bin prints the kernel\'s transcript and exits with its status', () => {
    const r = mesovirt('run', gandalf, '--module', meso);
    expect(r.status).toBe(1);
    expect(r.stdout.endsWith('[kernel] all processes exited\n')).toBe(true);
  });

  it('audit --monitor gandalf finds no violation in the teaching kernel; a mutant is caught with status 1; an unknown mutant is a usage error', () => {
    const ok = mesovirt('audit', meso, '--monitor', 'gandalf', '--steps', '300000');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('violations     0');
    expect(ok.stdout).toContain('steps          300000 (step limit)');
    expect(ok.stdout).toMatch(/emulate lgdt\s+1/);
    const bad = mesovirt('audit', meso, '--monitor', 'gandalf', '--mutant', 'boot-segments-reach-monitor');
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('VIOLATION [VMM.SEG]');
    const unknown = mesovirt('audit', meso, '--monitor', 'gandalf', '--mutant', 'no-such-mutant');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("gandalf has no mutant 'no-such-mutant'");
  });

  it('audit --monitor gandalf --memory shadow-multi audits the -DMEMORY_MULTI build; a mode gandalf is not built for is a usage error', () => {
    const ok = mesovirt('audit', meso, '--monitor', 'gandalf', '--memory', 'shadow-multi', '--steps', '200000');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('under gandalf (shadow-multi)');
    expect(ok.stdout).toContain('violations     0');
    const bad = mesovirt('audit', meso, '--monitor', 'gandalf', '--memory', 'nested');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--memory: gandalf is built for shadow-single, shadow-multi, direct, got 'nested'");
  });
});
