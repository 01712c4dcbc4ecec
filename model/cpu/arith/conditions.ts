// The sixteen conditions of Jcc, SETcc and CMOVcc, read from EFLAGS. The
// index is the low nibble of the opcode and CONDITION_NAMES in model/isa/ast.
import type { Condition } from '../../isa/ast';
import { CF, OF, PF, SF, ZF } from './flags';

// [INS.COND.1] Conditions come in pairs: an even index tests a predicate and
// the next odd index its negation. The predicates are O (OF), B (CF), E (ZF),
// BE (CF or ZF), S (SF), P (PF), L (SF ≠ OF) and LE (ZF or SF ≠ OF).
export function conditionHolds(condition: Condition, eflags: number): boolean {
  const set = (bit: number): boolean => (eflags & bit) !== 0;
  const predicates: readonly (() => boolean)[] = [
    () => set(OF),
    () => set(CF),
    () => set(ZF),
    () => set(CF) || set(ZF),
    () => set(SF),
    () => set(PF),
    () => set(SF) !== set(OF),
    () => set(ZF) || set(SF) !== set(OF),
  ];
  const holds = predicates[(condition >> 1) & 7]!();
  return condition & 1 ? !holds : holds;
}
