// Where the manual leaves a result undefined, Intel and AMD processors were
// measured to differ; this file says how, so that tests can (1) check the
// model's choice against the vendor it follows, on that vendor only, and
// (2) answer "like the other vendor" in a fake host. The measurements and
// the table are in spec/instructions.md, "Where Intel and AMD differ".
import { readFileSync } from 'node:fs';

export type Vendor = 'intel' | 'amd';

/** The host processor's vendor, read from /proc/cpuinfo; null when it cannot
 * be told (not Linux, not x86, another vendor). */
export function hostVendor(): Vendor | null {
  let text: string;
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return null;
  }
  const id = /^vendor_id\s*:\s*(\S+)/m.exec(text)?.[1];
  return id === 'GenuineIntel' ? 'intel' : id === 'AuthenticAMD' ? 'amd' : null;
}

/** The vendor whose undefined results the model reproduces (INS.SHIFT.7). */
export const MODEL_FOLLOWS: Vendor = 'amd';

export const otherVendor = (v: Vendor): Vendor => (v === 'intel' ? 'amd' : 'intel');

/**
 * A 16-bit SHLD or SHRD with a masked count of 17..31, as each vendor was
 * measured to compute it: the shift runs through a 48-bit string of the two
 * operands and the top (SHLD) or low (SHRD) 16 bits are the result.
 *   AMD:   SHLD dest:src:src,  SHRD src:src:dest
 *   Intel: SHLD dest:src:dest, SHRD dest:src:dest
 * Written with BigInt over the whole string, independently of the model's
 * bit-by-bit loop (model/cpu/arith/shifts.ts).
 */
export function doubleShift16(vendor: Vendor, left: boolean, dest: number, src: number, count: number): number {
  const d = BigInt(dest & 0xffff);
  const s = BigInt(src & 0xffff);
  const n = BigInt(count & 31);
  const parts = left
    ? (vendor === 'amd' ? [d, s, s] : [d, s, d])
    : (vendor === 'amd' ? [s, s, d] : [d, s, d]);
  const string48 = (parts[0]! << 32n) | (parts[1]! << 16n) | parts[2]!;
  const shifted = left ? (string48 << n) >> 32n : string48 >> n;
  return Number(shifted & 0xffffn);
}
