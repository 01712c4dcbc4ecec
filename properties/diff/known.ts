// Known disagreements between model and impl, each naming the machine that
// is wrong, the rule, and the outside evidence for which side is right. A
// divergence matching an entry is reported (and counted) but does not fail
// the property. Each entry carries a witness: a campaign case (seed and case
// number, see campaign.ts) on which it occurs; a test runs every witness and
// fails when an entry no longer matches it, so an entry goes away as soon as
// the machine it blames is fixed.
import type { Divergence } from './lockstep';

export interface KnownDiscrepancy {
  readonly id: string;
  readonly blames: 'model' | 'impl';
  /** The spec rule (or manual section) the blamed machine breaks. */
  readonly rule: string;
  readonly evidence: string;
  readonly matches: (d: Divergence) => boolean;
  /** A campaign case, or a replay file (path from the repository root), e.g. in properties/diff/witnesses. */
  readonly witness: { readonly seed: number; readonly case: number } | { readonly replay: string };
}

// Empty: every entry found so far was fixed in the machine it blamed (their
// witnesses run as regressions in test/diff-known.test.ts).
export const KNOWN_DISCREPANCIES: readonly KnownDiscrepancy[] = [];

// [DIFF.KNOWN.1]
export function knownDiscrepancy(d: Divergence, list: readonly KnownDiscrepancy[] = KNOWN_DISCREPANCIES): KnownDiscrepancy | null {
  return list.find((k) => k.matches(d)) ?? null;
}
