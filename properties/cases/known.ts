// Known discrepancies between the model and the host CPU, each with its
// reason. cases/EXCLUDED.json lists the committed corpus's excluded cases by
// name; a freshly generated batch (CI) has new names, so its failures are
// matched against these rules instead. A failure no rule explains is a
// real disagreement and fails the run.
import type { CaseVerdict } from './check';

export const RF_ON_FAULT =
  'the host CPU sets RF (bit 16) in the EFLAGS image pushed for a fault-class exception; the model pushes RF=0';
export const READ_MODIFY_WRITE_FAULT =
  'a read-modify-write of a not-present page faults with W=1 in the error code on the host CPU (the access is a write); the model reports a read (W=0)';

/** The reasons that explain every difference of a failing verdict, or null
 * if some difference is not a known discrepancy. */
export function knownReasons(v: CaseVerdict): string[] | null {
  const reasons = new Set<string>();
  for (const d of v.differences) {
    if (/not implemented|not modelled/.test(d)) {
      reasons.add(`the model does not implement this instruction yet (${d})`);
      continue;
    }
    const flags = /^eflags \(undefined 0x[0-9a-f]+ masked\): expected 0x([0-9a-f]+) got 0x([0-9a-f]+)$/.exec(d);
    if (flags !== null && (parseInt(flags[1]!, 16) ^ parseInt(flags[2]!, 16)) === 0x10000) {
      reasons.add(RF_ON_FAULT);
      continue;
    }
    if (d === 'fault error code: expected 0x6 got 0x4' && /(add|inc|sub|dec|xor|or|and|adc|sbb|neg|not) (byte|word|dword) \[/.test(v.name)) {
      reasons.add(READ_MODIFY_WRITE_FAULT);
      continue;
    }
    return null;
  }
  return [...reasons];
}
