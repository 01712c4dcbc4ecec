// Known disagreements between model and impl, each naming the machine that
// is wrong, the rule, and the outside evidence for which side is right. A
// divergence matching an entry is reported (and counted) but does not fail
// the property. Each entry carries a witness: a campaign case (seed and case
// number, see campaign.ts) on which it occurs; a test runs every witness and
// fails when an entry no longer matches it, so an entry goes away as soon as
// the machine it blames is fixed.
import { decode } from '../../model/isa/decoder';
import type { Divergence } from './lockstep';

export interface KnownDiscrepancy {
  readonly id: string;
  readonly blames: 'model' | 'impl';
  /** The spec rule (or manual section) the blamed machine breaks. */
  readonly rule: string;
  readonly evidence: string;
  readonly matches: (d: Divergence) => boolean;
  /** A campaign case, or a replay file (path from the repository root) kept in properties/diff/witnesses. */
  readonly witness: { readonly seed: number; readonly case: number } | { readonly replay: string };
}

const CAMPAIGN_SEED = 0x6d65736f; // properties/seed.ts DEFAULT_SEED

/** Mnemonics of the instruction stream under test. */
function mnemonics(code: Uint8Array | undefined): string[] {
  const out: string[] = [];
  for (let at = 0; code !== undefined && at < code.length;) {
    const r = decode(code, at);
    if (r.kind !== 'ok') break;
    out.push(r.instruction.mnemonic);
    at += r.length;
  }
  return out;
}

const memoryAddress = (line: string): number | null => {
  const m = /^memory 0x([0-9a-f]+):/.exec(line);
  return m === null ? null : parseInt(m[1]!, 16);
};

export const KNOWN_DISCREPANCIES: readonly KnownDiscrepancy[] = [
  {
    id: 'enter-fault-keeps-first-push',
    blames: 'model',
    rule: 'INS.STACK.4; SDM vol. 3 §6.5 (a fault restores the registers, not memory already written)',
    evidence: 'An ENTER with a nesting level whose frame-pointer copy faults leaves its first push (the old EBP) in ' +
      'memory below the stack pointer on the host CPU (properties/diff/evidence/enter-partial-push.c: AMD EPYC, ' +
      '"slot at old RSP-8: 0x33"); impl does the same, the model undoes the whole instruction including memory. ' +
      'Only bytes below ESP differ, which no program can rely on.',
    matches: (d) => d.initial !== undefined && mnemonics(d.code).includes('enter') && d.differences.length > 0 &&
      d.differences.every((line) => {
        const at = memoryAddress(line);
        return at !== null && at < d.initial!.regs.esp && at >= d.initial!.regs.esp - 0x1000;
      }),
    witness: { seed: CAMPAIGN_SEED, case: 803 },
  },
];

// [DIFF.KNOWN.1]
export function knownDiscrepancy(d: Divergence, list: readonly KnownDiscrepancy[] = KNOWN_DISCREPANCIES): KnownDiscrepancy | null {
  return list.find((k) => k.matches(d)) ?? null;
}
