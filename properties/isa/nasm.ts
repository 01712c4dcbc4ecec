// Batch nasm as an oracle: assemble many lines in one run and return the
// flat binary (or nasm's error text).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type NasmResult = { kind: 'ok'; bytes: Uint8Array } | { kind: 'error'; message: string };

/** Assemble `lines` after `bits 32` and `org origin` into a flat binary. */
export function nasmAssemble(lines: readonly string[], origin: number): NasmResult {
  const dir = mkdtempSync(join(tmpdir(), 'mesovirt-nasm-'));
  try {
    const source = join(dir, 'in.asm');
    const output = join(dir, 'out.bin');
    writeFileSync(source, ['bits 32', `org 0x${origin.toString(16)}`, ...lines, ''].join('\n'));
    try {
      execFileSync('nasm', ['-f', 'bin', '-w-all', '-o', output, source], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      return { kind: 'error', message: String((e as { stderr?: Buffer }).stderr ?? e) };
    }
    return { kind: 'ok', bytes: new Uint8Array(readFileSync(output)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
