// The `mesovirt run` command end to end: the hello guest assembled by nasm
// boots on the model, prints its line and exits with QEMU's isa-debug-exit
// status (0 << 1) | 1 = 1; a broken image is a clear error, not a stack trace.
import { describe, expect, it } from 'vitest';
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oracleAvailable } from '../../properties/tools';

const dir = mkdtempSync(join(tmpdir(), 'mesovirt-run-'));
const run = (...args: string[]) => spawnSync('node', ['bin/mesovirt.js', 'run', ...args], { encoding: 'utf8', timeout: 60_000 });

describe('mesovirt run', () => {
  it('runs hello on the model: console on stdout, exit status 1, and a JSON-lines trace', () => {
    if (!oracleAvailable('nasm')) return;
    const image = join(dir, 'hello.bin');
    execFileSync('nasm', ['-f', 'bin', '-D', 'MULTIBOOT_AOUT_KLUDGE', '-o', image, 'guests/hello/hello.asm']);
    const trace = join(dir, 'trace.jsonl');
    const r = run(image, '--machine', 'model', '--trace', trace);
    expect(r.stdout).toBe('hello from mesovirt\n');
    expect(r.status).toBe(1);
    const lines = readFileSync(trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { eip: number; event: { kind: string } });
    expect(lines[0]!.eip).toBeGreaterThanOrEqual(0x100000);
    expect(lines.at(-1)!.event).toEqual({ kind: 'exit', code: 1 });
  });
  it('reports a malformed image by field, without a stack trace, status 2', () => {
    const image = join(dir, 'bad.bin');
    writeFileSync(image, Buffer.from([0x02, 0xb0, 0xad, 0x1b, 0, 0, 0, 0, 0, 0, 0, 0]));
    const r = run(image, '--machine', 'model');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/checksum/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
  });
  it('stops at --max-instructions and says so', () => {
    if (!oracleAvailable('nasm')) return;
    const image = join(dir, 'hello2.bin');
    execFileSync('nasm', ['-f', 'bin', '-D', 'MULTIBOOT_AOUT_KLUDGE', '-o', image, 'guests/hello/hello.asm']);
    const r = run(image, '--machine', 'model', '--max-instructions', '5');
    expect(r.status).toBe(6);
    expect(r.stderr).toMatch(/stopped after 5 steps/);
  });
});
