// The sixteen conditions of Jcc, SETcc and CMOVcc, read from EFLAGS. The
// index is the low nibble of the opcode and CONDITION_NAMES in model/isa/ast.
import type { Condition } from '../../isa/ast';
import { CF, OF, PF, SF, ZF } from './flags';

/** Whether flag `bit` is set in `eflags`. */
const isSet = (eflags: number, bit: number): boolean => (eflags & bit) !== 0;

// [INS.COND.1] Conditions come in pairs: an even index tests a predicate and
// the next odd index its negation. The predicates are O (OF), B (CF), E (ZF),
// BE (CF or ZF), S (SF), P (PF), L (SF ≠ OF) and LE (ZF or SF ≠ OF).
export function conditionHolds(condition: Condition, eflags: number): boolean {
  const holds = predicate((condition >> 1) & 7, eflags);
  return condition & 1 ? !holds : holds;
}

/** The predicate of condition pair `pair` (O B E BE S P L LE). */
function predicate(pair: number, eflags: number): boolean {
  switch (pair) {
    case 0: return isSet(eflags, OF);
    case 1: return isSet(eflags, CF);
    case 2: return isSet(eflags, ZF);
    case 3: return isSet(eflags, CF) || isSet(eflags, ZF);
    case 4: return isSet(eflags, SF);
    case 5: return isSet(eflags, PF);
    case 6: return isSet(eflags, SF) !== isSet(eflags, OF);
    default: return isSet(eflags, ZF) || isSet(eflags, SF) !== isSet(eflags, OF);
  }
}
