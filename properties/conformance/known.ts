// guests/conformance/KNOWN-DISCREPANCIES.json: the lines on which a machine
// or oracle is known to differ from the expected transcript (the manual's
// answer), each with its reason. The runner tolerates exactly these lines,
// with exactly the listed output, on exactly that machine, and nothing else.
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either';
import { PathReporter } from 'io-ts/lib/PathReporter';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFORMANCE_DIR } from './kernels';

export const MachineOrOracle = t.keyof({ model: null, impl: null, qemu: null, bochs: null });
export type MachineOrOracle = t.TypeOf<typeof MachineOrOracle>;

export const Discrepancy = t.type({
  kernel: t.string,
  /** The test name: the line's text before ": ". */
  test: t.string,
  machine: MachineOrOracle,
  /** The whole line that machine prints. */
  got: t.string,
  /** The whole expected line: the manual's answer (it must equal the expected transcript's line). */
  manual: t.string,
  /** Why the machine differs; a model or impl bug says so ("model bug: …, reported"). */
  reason: t.string,
});
export type Discrepancy = t.TypeOf<typeof Discrepancy>;

export const KnownDiscrepancies = t.type({
  notes: t.array(t.string),
  discrepancies: t.array(Discrepancy),
});
export type KnownDiscrepancies = t.TypeOf<typeof KnownDiscrepancies>;

export const KNOWN_FILE = join(CONFORMANCE_DIR, 'KNOWN-DISCREPANCIES.json');

/** Decode the file's text; a bad file names the field that is wrong. */
export function decodeKnown(text: string, source = KNOWN_FILE): KnownDiscrepancies {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message})`);
  }
  const decoded = KnownDiscrepancies.decode(json);
  if (isLeft(decoded)) throw new Error(`${source}: ${PathReporter.report(decoded).join('; ')}`);
  for (const [i, d] of decoded.right.discrepancies.entries()) {
    if (d.reason.trim() === '') throw new Error(`${source}: discrepancies[${i}].reason is empty`);
    if (!d.got.startsWith(`${d.test}: `) || !d.manual.startsWith(`${d.test}: `)) {
      throw new Error(`${source}: discrepancies[${i}]: 'got' and 'manual' must be whole lines of test '${d.test}'`);
    }
  }
  return decoded.right;
}

export function loadKnown(): KnownDiscrepancies {
  return decodeKnown(readFileSync(KNOWN_FILE, 'utf8'));
}
