// The benchmark kernels compute the right answers on every machine. Expected
// lines come from bench/reference.ts (TypeScript re-implementations, with
// zlib's CRC32), which is itself checked here against known facts (the
// number of primes below 2^20 and below 100) and against QEMU running the
// kernels built by nasm. No timing is asserted anywhere.
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KERNELS, GUESTS_DIR, buildKernel, kernelNamed } from '../bench/kernels';
import { aluExpected, sieveExpected, syscallExpected } from '../bench/reference';
import { runGuest } from '../bench/guest-run';
import { runOnQemu } from '../bench/qemu';
import { loadV86, runOnV86 } from '../bench/v86';
import { oracleAvailable } from '../properties/tools';

const haveQemu = oracleAvailable('qemu-system-i386');
const haveNasm = oracleAvailable('nasm');

/** Small sizes: enough to exercise every path of each kernel. */
const SMALL: Record<string, { readonly model: number; readonly impl: number }> = {
  alu: { model: 300, impl: 20_000 },
  sieve: { model: 1_000, impl: 65_536 },
  syscall: { model: 5, impl: 200 },
};

describe('reference answers agree with known facts', () => {
  test('there are 82025 primes below 2^20 and 25 below 100', () => {
    expect(sieveExpected(1 << 20).split(' ')[1]).toBe((82025).toString(16).padStart(8, '0'));
    expect(sieveExpected(100).split(' ')[1]).toBe('00000019');
  });
  test('the CRC is the standard CRC-32 (check value of "123456789" through a hand-written bitwise CRC)', () => {
    // Bitwise reflected CRC-32, written out here; the reference uses zlib.
    const crc = (bytes: Uint8Array): number => {
      let c = 0xffffffff;
      for (const b of bytes) {
        c ^= b;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
      }
      return (c ^ 0xffffffff) >>> 0;
    };
    expect(crc(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    const sieve = new Uint8Array(1000);
    for (let n = 2; n < 1000; n++) {
      let prime = true;
      for (let d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
      sieve[n] = prime ? 1 : 0;
    }
    expect(sieveExpected(1000).trim().split(' ')[2]).toBe(crc(sieve).toString(16).padStart(8, '0'));
  });
  test('the system-call kernel makes (pages + 1) calls and takes pages faults per round, plus one final call', () => {
    const [, , calls, faults] = syscallExpected(7, 16).trim().split(' ');
    expect(parseInt(calls!, 16)).toBe(7 * 17 + 1);
    expect(parseInt(faults!, 16)).toBe(7 * 16);
  });
  test('one ALU iteration, worked by hand', () => {
    // a = 0x12345678 + 0x9E3779B9 = 0xB06BD031; b = rol(0x9E3779B9 ^ 0xB06BD031, 7)
    // = rol(0x2E5CA988, 7) = 0x2E54C417; c = -b = 0xD1AB3BE9; d = 1 + 4c + 3 = 0x46ACEFA8;
    // a = (0xB06BD031 ^ (d >> 3 = 0x08D59DF5)) * 0x01000193 = 0xB8BE4DC4 * 0x01000193 mod 2^32 = 0x97946B8C (even: c unchanged)
    expect(aluExpected(1)).toBe('alu 97946b8c 2e54c417 d1ab3be9 46acefa8\n');
  });
});

describe.each(KERNELS.map((k) => [k.name, k] as const))('%s kernel', (name, kernel) => {
  test('prints the expected line on impl', () => {
    const n = SMALL[name]!.impl;
    const r = runGuest('impl', buildKernel(kernel, n));
    expect(r.ending).toBe('exit');
    expect(r.output).toBe(kernel.expected(n));
  });
  test('prints the expected line on the model', () => {
    const n = SMALL[name]!.model;
    const r = runGuest('model', buildKernel(kernel, n));
    expect(r.ending).toBe('exit');
    expect(r.output).toBe(kernel.expected(n));
  }, 60_000);
  test.runIf(haveNasm)('our assembler builds the same bytes as nasm', () => {
    const n = SMALL[name]!.impl;
    const dir = mkdtempSync(join(tmpdir(), 'mesovirt-bench-nasm-'));
    try {
      const out = join(dir, 'k.bin');
      const defines = Object.entries(kernel.defines(n)).map(([k, v]) => `-D${k}=${v}`);
      const r = spawnSync('nasm', ['-f', 'bin', '-i', GUESTS_DIR, ...defines, '-o', out, join(GUESTS_DIR, kernel.source)], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(Buffer.from(buildKernel(kernel, n)).equals(readFileSync(out))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test.runIf(haveQemu)('QEMU prints the reference line (the reference is right)', async () => {
    const n = SMALL[name]!.impl;
    const r = await runOnQemu(buildKernel(kernel, n), { timeoutMs: 60_000 });
    expect(r.output).toBe(kernel.expected(n));
  }, 90_000);
  test('v86 prints the expected line, cold (a fresh emulator) and warm (the image reloaded into the same instance)', async () => {
    if ((await loadV86()) === null) throw new Error('v86 is a dev dependency and must be installed');
    const n = SMALL[name]!.impl;
    const [cold, warm] = await runOnV86(buildKernel(kernel, n), 60_000, 2);
    expect(cold!.output).toBe(kernel.expected(n));
    expect(warm!.output).toBe(kernel.expected(n));
  }, 90_000);
});

test('an unknown kernel name is a clear error', () => {
  expect(() => kernelNamed('fib')).toThrow(/no benchmark kernel 'fib' \(there are alu, sieve, syscall\)/);
});
