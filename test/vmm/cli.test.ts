// `mesovirt run --vmm` and `mesovirt audit` on the teaching kernel's meso
// build, as a user runs them (the real command, a child process).
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const mesovirt = (...args: string[]) => spawnSync('node', [join(ROOT, 'bin', 'mesovirt.js'), ...args], { encoding: 'utf8', cwd: ROOT, timeout: 300_000 });

describe('[VMM.EQ] [VMM.ISO] [VMM.SEG] [VMM.RING] [VMM.RES] the run --vmm and audit commands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmm-cli-'));
  const meso = join(dir, 'teach-meso.bin');
  beforeAll(() => {
    const r = mesovirt('asm', join(ROOT, 'guests/teach/teach.asm'), '-o', meso, '--format', 'bin', '-D', 'MESO');
    expect(r.status).toBe(0);
  }, 120_000);

  it('run --vmm prints the kernel\'s transcript, exits with its exit-port status and reports exits by reason', () => {
    const r = mesovirt('run', meso, '--vmm');
    expect(r.status).toBe(1); // (0 << 1) | 1, as QEMU's isa-debug-exit
    expect(r.stdout).toContain('[pid 4] poking the kernel\n[kernel] pid 4 killed: page fault at 0x00100000 error 0x00000007\n');
    expect(r.stdout.endsWith('[kernel] all processes exited\n')).toBe(true);
    expect(r.stderr).toMatch(/emulate out\s+\d+/);
  });

  it('run --vmm --machine impl runs the same monitor with impl as the processor, to the same transcript', () => {
    const model = mesovirt('run', meso, '--vmm', '--machine', 'model');
    const impl = mesovirt('run', meso, '--vmm', '--machine', 'impl');
    expect(impl.status).toBe(1);
    expect(impl.stdout).toBe(model.stdout);
    expect(impl.stderr).toContain('on impl');
  });

  it('run --vmm-base moves the monitor; a base that is not a multiple of 4 MiB is a user error', () => {
    const moved = mesovirt('run', meso, '--vmm', '--vmm-base', '0x80000000');
    expect(moved.status).toBe(1);
    expect(moved.stdout.endsWith('[kernel] all processes exited\n')).toBe(true);
    const bad = mesovirt('run', meso, '--vmm', '--vmm-base', '0x123');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('not a multiple of 4 MiB');
  });

  it('audit finds no violation on the teaching kernel and exits 0', () => {
    const r = mesovirt('audit', meso);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/violations\s+0/);
    expect(r.stdout).toContain('VMM.ISO, VMM.SEG, VMM.RING, VMM.RES');
  });

  it('audit of a broken monitor exits 1 naming the step, the instruction and the invariant', () => {
    const r = mesovirt('audit', meso, '--mutant', 'guest frame outside the partition');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/VIOLATION \[VMM\.RES\] at step \d+/);
    expect(r.stdout).toMatch(/instruction: 0fe1:[0-9a-f]{8} {2}cli \(CPL 1\)/);
  });

  it('audit --machine impl: the same invariants with impl as the processor; none violated, and a broken monitor caught', () => {
    const r = mesovirt('audit', meso, '--machine', 'impl');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('on impl');
    expect(r.stdout).toMatch(/steps\s+\d+ \(exit 1\)/);
    expect(r.stdout).toMatch(/violations\s+0/);
    const bad = mesovirt('audit', meso, '--machine', 'impl', '--mutant', 'guest frame outside the partition');
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/VIOLATION \[VMM\.RES\] at step \d+: shadow entry for 0x[0-9a-f]+ maps machine/);
  });

  it('run --vmm with two guests on impl (the default) prints what the model-hosted monitor prints', () => {
    const impl = mesovirt('run', '--vmm', '--guest', meso, '--guest', meso, '--machine', 'impl');
    const model = mesovirt('run', '--vmm', '--guest', meso, '--guest', meso, '--machine', 'model');
    expect(impl.status).toBe(1);
    expect(impl.stdout).toBe(model.stdout);
    expect(impl.stderr).toContain('2 guests on impl');
    expect(impl.stderr.replace(' on impl', '')).toBe(model.stderr.replace(' on model', ''));
  });
});
