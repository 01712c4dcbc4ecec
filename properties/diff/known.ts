// Known disagreements between model and impl, each with the outside evidence
// for which side is right. A divergence matching an entry is reported (and
// counted) but does not fail the property; every entry should go away when
// the side it blames is fixed.
import type { Divergence } from './lockstep';

export interface KnownDiscrepancy {
  readonly id: string;
  readonly blames: 'model' | 'impl';
  readonly reason: string;
  readonly matches: (d: Divergence) => boolean;
}

export const KNOWN_DISCREPANCIES: readonly KnownDiscrepancy[] = [
  {
    id: 'rmw-page-fault-write-bit',
    blames: 'model',
    reason: 'A read-modify-write instruction (ADD/INC/SHR/... to memory) that page-faults reports W = 1 on the ' +
      'host CPU (cases/hostcpu/fault.jsonl "add byte [0x30000000], 1": error code 6); the model reports a read.',
    matches: (d) => d.modelEvent.kind === 'exception' && d.implEvent.kind === 'exception' &&
      d.modelEvent.vector === 14 && d.implEvent.vector === 14 &&
      d.modelEvent.errorCode !== null && (d.modelEvent.errorCode & 2) === 0 &&
      d.implEvent.errorCode === (d.modelEvent.errorCode | 2),
  },
  {
    id: 'cr2-of-a-page-fault-during-delivery',
    blames: 'model',
    reason: 'When delivering an exception page-faults (on its way to #DF or a triple fault), the processor loads ' +
      'CR2 with the address of that new #PF (SDM vol. 3 §6.15, interrupt 14: CR2 holds the address that generated ' +
      'the exception); the model keeps the first fault\'s address.',
    matches: (d) => d.differences.length === 1 && d.differences[0]!.startsWith('cr2:') &&
      (d.modelEvent.kind === 'shutdown' || (d.modelEvent.kind === 'exception' && d.modelEvent.vector === 8)),
  },
  {
    id: 'rmw-to-a-read-only-segment',
    blames: 'model',
    reason: 'A read-modify-write destination in a segment that is not writable (a CS override) is #GP(0): the ' +
      'segment check for the write comes before any paging (SDM vol. 3 §5.3, §6.15); the model reads first and ' +
      'page-faults on the read.',
    matches: (d) => d.modelEvent.kind === 'exception' && d.implEvent.kind === 'exception' &&
      d.modelEvent.vector === 14 && d.implEvent.vector === 13 && d.implEvent.errorCode === 0 &&
      d.modelEvent.errorCode !== null && (d.modelEvent.errorCode & 2) === 0,
  },
];

// [DIFF.KNOWN.1]
export function knownDiscrepancy(d: Divergence): KnownDiscrepancy | null {
  return KNOWN_DISCREPANCIES.find((k) => k.matches(d)) ?? null;
}
