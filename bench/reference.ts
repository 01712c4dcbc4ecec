// What each benchmark kernel must print, computed here in TypeScript without
// running any x86 code: the same algorithm written again over JavaScript
// numbers (the sieve and the ALU mix) or taken from Node's zlib (CRC32). Every
// machine's run is checked against these lines, so a fast wrong answer never
// counts as a result.
import { crc32 } from 'node:zlib';

const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
const rol = (x: number, n: number): number => ((x << n) | (x >>> (32 - n))) >>> 0;

/** alu.asm: four registers mixed `iterations` times. */
export function aluExpected(iterations: number): string {
  let a = 0x12345678, b = 0x9e3779b9, c = 0, d = 1;
  for (let i = 0; i < iterations; i++) {
    a = (a + b) >>> 0;
    b = rol((b ^ a) >>> 0, 7);
    c = (c - b) >>> 0;
    d = (d + 4 * c + 3) >>> 0;
    a = Math.imul((a ^ (d >>> 3)) >>> 0, 0x01000193) >>> 0;
    if (a & 1) c = (c + 1) >>> 0;
  }
  return `alu ${hex(a)} ${hex(b)} ${hex(c)} ${hex(d)}\n`;
}

/** sieve.asm: the number of primes below `size`, and zlib's CRC32 of the
 * sieve's byte array (1 for a prime, 0 otherwise). */
export function sieveExpected(size: number): string {
  const prime = new Uint8Array(size).fill(1);
  prime[0] = 0;
  if (size > 1) prime[1] = 0;
  for (let p = 2; p * p < size; p++) {
    if (prime[p]) for (let m = p * p; m < size; m += p) prime[m] = 0;
  }
  let count = 0;
  for (const x of prime) count += x;
  return `sieve ${hex(count)} ${hex(crc32(prime))}\n`;
}

/** syscall.asm: the kernel's folded checksum, the number of system calls,
 * the number of page faults, and the user's own checksum. */
export function syscallExpected(rounds: number, pages: number): string {
  const frames = new Uint32Array(pages); // each page's one word we touch
  let kernelSum = 0, user = 0, calls = 0, faults = 0;
  for (let left = rounds; left > 0; left--) {
    for (let page = 0; page < pages; page++) {
      faults++; // the data area was unmapped at the end of the last round
      const value = (frames[page]! + left + page) >>> 0;
      frames[page] = value;
      user = rol((user + value) >>> 0, 1);
      kernelSum = (rol(kernelSum, 5) ^ value) >>> 0;
      calls++;
    }
    calls++; // the unmap call
  }
  calls++; // the final call, counted before it prints
  return `syscall ${hex(kernelSum)} ${hex(calls)} ${hex(faults)} ${hex(user)}\n`;
}
