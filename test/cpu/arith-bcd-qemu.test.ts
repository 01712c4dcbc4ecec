// The decimal adjustments against QEMU (the host oracle cannot run them:
// they do not exist in 64-bit mode). test/host/bcd-oracle.asm, assembled by
// nasm, runs each adjustment on 4096 inputs inside QEMU and reports AX and
// EFLAGS on the debug console; the model must agree outside the flags it
// declares undefined. Ids: [INS.BCD.1] [INS.BCD.2] [INS.BCD.3] [INS.BCD.4]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { aaa, aad, aam, aas, daa, das } from '../../model/cpu/arith/bcd';
import { STATUS_FLAGS, type ArithResult } from '../../model/cpu/arith/flags';
import { oracleAvailable } from '../../properties/tools';
import { runQemu } from '../../properties/conformance/oracles';

const source = join(dirname(fileURLToPath(import.meta.url)), '../host/bcd-oracle.asm');
const INPUTS = 4096;
const HIGH_BYTES = [0x00, 0x12, 0x99, 0xff];
const FLAG_VALUES = [0x002, 0x003, 0x012, 0x013];

/** The adjustments in the order the kernel runs them. */
const OPERATIONS: ReadonlyArray<{ name: string; run: (ax: number, flags: number) => ArithResult }> = [
  { name: 'daa', run: daa }, { name: 'das', run: das }, { name: 'aaa', run: aaa }, { name: 'aas', run: aas },
  ...[10, 16, 7, 255].map((base) => ({
    name: `aam ${base}`,
    run: (ax: number, flags: number) => {
      const r = aam(ax, base, flags);
      if (r.kind !== 'ok') throw new Error('aam with a non-zero base cannot fault');
      return r;
    },
  })),
  ...[10, 16, 7, 255].map((base) => ({ name: `aad ${base}`, run: (ax: number, flags: number) => aad(ax, base, flags) })),
];

/** The kernel, assembled by nasm, run on QEMU: its binary records, read
 * until the guest exits (runQemu's binary mode never cuts them at bytes
 * that look like an end line). */
async function runOnQemu(): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'mesovirt-bcd-'));
  const image = join(dir, 'bcd.bin');
  execFileSync('nasm', ['-f', 'bin', '-o', image, source]);
  const run = await runQemu(new Uint8Array(readFileSync(image)), 'binary');
  rmSync(dir, { recursive: true, force: true });
  expect(run.ending).toBe('exit');
  return Buffer.from(run.text, 'latin1');
}

const available = oracleAvailable('qemu-system-i386') && oracleAvailable('nasm');

describe.skipIf(!available)('decimal adjustments against QEMU', () => {
  it('[INS.BCD.1] [INS.BCD.2] [INS.BCD.3] [INS.BCD.4] 12 adjustments × 4096 inputs', async () => {
    const out = await runOnQemu();
    expect(out.length).toBe(OPERATIONS.length * INPUTS * 4);
    const failures: string[] = [];
    OPERATIONS.forEach((op, k) => {
      for (let i = 0; i < INPUTS; i++) {
        const ax = (HIGH_BYTES[(i >> 8) & 3]! << 8) | (i & 0xff);
        const flagsIn = FLAG_VALUES[(i >> 10) & 3]!;
        const at = (k * INPUTS + i) * 4;
        const wantAx = out.readUInt16LE(at);
        const wantFlags = out.readUInt16LE(at + 2);
        const got = op.run(ax, flagsIn);
        const mask = STATUS_FLAGS & ~got.undefined;
        if ((got.result & 0xffff) !== wantAx || (got.flags & mask) !== (wantFlags & mask)) {
          if (failures.length < 20) {
            failures.push(`${op.name} AX=${ax.toString(16)} flags=${flagsIn.toString(16)}: qemu AX=${wantAx.toString(16)} flags=${(wantFlags & mask).toString(16)}, model AX=${got.result.toString(16)} flags=${(got.flags & mask).toString(16)}`);
          }
        }
      }
    });
    expect(failures).toEqual([]);
  }, 120_000);
});
