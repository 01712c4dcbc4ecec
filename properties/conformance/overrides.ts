// guests/conformance/OVERRIDES.json: where the oracle that records an
// expected transcript is known to deviate from the Intel manual, the
// recorder replaces that part of the oracle's line with the manual's answer.
// Each override names the kernel, the test, the oracle, the text the oracle
// prints (`from`) and the manual's text (`to`), and says why. Overrides are
// fragments, not whole lines, so that they survive EIPs moving when the
// harness changes; one that no longer matches is an error, never skipped.
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either';
import { PathReporter } from 'io-ts/lib/PathReporter';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFORMANCE_DIR } from './kernels';
import { testName } from './compare';

export const RecordingOracle = t.keyof({ qemu: null, bochs: null });

export const Override = t.type({
  kernel: t.string,
  test: t.string,
  oracle: RecordingOracle,
  /** A fragment of the oracle's line. */
  from: t.string,
  /** What the manual says in its place. */
  to: t.string,
  /** Why the oracle is wrong here, citing the manual. */
  reason: t.string,
});
export type Override = t.TypeOf<typeof Override>;

export const Overrides = t.type({ notes: t.array(t.string), overrides: t.array(Override) });
export type Overrides = t.TypeOf<typeof Overrides>;

export const OVERRIDES_FILE = join(CONFORMANCE_DIR, 'OVERRIDES.json');

export function decodeOverrides(text: string, source = OVERRIDES_FILE): Overrides {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message})`);
  }
  const decoded = Overrides.decode(json);
  if (isLeft(decoded)) throw new Error(`${source}: ${PathReporter.report(decoded).join('; ')}`);
  for (const [i, o] of decoded.right.overrides.entries()) {
    if (o.reason.trim() === '') throw new Error(`${source}: overrides[${i}].reason is empty`);
    if (o.from === '' || o.from === o.to) throw new Error(`${source}: overrides[${i}]: 'from' must be non-empty and differ from 'to'`);
  }
  return decoded.right;
}

export function loadOverrides(): Overrides {
  return decodeOverrides(readFileSync(OVERRIDES_FILE, 'utf8'));
}

export interface AppliedOverride { readonly line: number; readonly before: string; readonly after: string; readonly reason: string }

/**
 * Apply the overrides for one kernel and oracle to that oracle's transcript.
 * Every override must apply exactly once: to the one line of its test, which
 * must contain `from` (else the transcript or the override is out of date).
 */
export function applyOverrides(kernel: string, oracle: string, text: string, overrides: Overrides): { text: string; applied: AppliedOverride[] } {
  const lines = text.split('\n');
  const applied: AppliedOverride[] = [];
  for (const o of overrides.overrides.filter((x) => x.kernel === kernel && x.oracle === oracle)) {
    const at = lines.flatMap((l, i) => (l.includes(': ') && testName(l) === o.test ? [i] : []));
    if (at.length !== 1) throw new Error(`override for ${kernel} '${o.test}' on ${oracle}: the transcript has ${at.length} lines of that test, expected 1`);
    const i = at[0]!;
    const before = lines[i]!;
    if (!before.includes(o.from)) throw new Error(`override for ${kernel} '${o.test}' on ${oracle}: line '${before}' does not contain '${o.from}'`);
    lines[i] = before.replace(o.from, o.to);
    applied.push({ line: i + 1, before, after: lines[i]!, reason: o.reason });
  }
  return { text: lines.join('\n'), applied };
}
