// EFLAGS bit positions and the one helper instruction semantics use to change
// flags. The helper also keeps the ghost field `undefinedFlags`: the bits the
// architecture leaves undefined after the most recent flag-writing
// instruction, so a comparison with another machine can mask them.
import { update, type MachineState } from './state';

// The bit masks themselves are the opcode map's (model/isa/flags.ts): one
// definition of EFLAGS for the whole project.
export { CF, PF, AF, ZF, SF, TF, IF, DF, OF, IOPL, NT, RF, VM, AC, ID } from '../isa/flags';
import { CF, PF, AF, ZF, SF, OF, TF, IF, DF, IOPL, NT, RF, AC, ID } from '../isa/flags';
/** Bit 1 is reserved and always reads as 1. */
export const RESERVED_ONE = 1 << 1;
export const IOPL_SHIFT = 12;

/** The six arithmetic status flags. */
export const STATUS_FLAGS = CF | PF | AF | ZF | SF | OF;

/** Bits that software can ever see set in our subset (VIF/VIP/VM stay 0). */
export const IMPLEMENTED_FLAGS = STATUS_FLAGS | TF | IF | DF | IOPL | NT | RF | AC | ID | RESERVED_ONE;

/** A flag update made by one instruction. */
export interface FlagUpdate {
  /** Every bit the instruction writes, including those it leaves undefined. */
  readonly written: number;
  /** New values of the written bits (bits outside `written` are ignored). */
  readonly values: number;
  /** Written bits whose value the architecture leaves undefined; the model
   * still stores the value from `values` (its own choice). */
  readonly undefined?: number;
}

/**
 * Apply a flag update. EFLAGS becomes (old & ~written) | (values & written);
 * undefinedFlags becomes (previous & ~written) | undefined: a bit stays
 * undefined until some later instruction defines it.
 */
export function withFlags(state: MachineState, change: FlagUpdate): MachineState {
  return update(state, flagsAfter(state, change));
}

/** The EFLAGS and undefinedFlags fields a flag update gives (withFlags),
 * for a caller that changes other fields in the same new state. */
export function flagsAfter(state: MachineState, change: FlagUpdate): { eflags: number; undefinedFlags: number } {
  const undef = change.undefined ?? 0;
  const written = change.written | undef;
  const eflags = (((state.eflags & ~written) | (change.values & written)) | RESERVED_ONE) >>> 0;
  const undefinedFlags = ((state.undefinedFlags & ~written) | undef) >>> 0;
  return { eflags, undefinedFlags };
}

/** Replace EFLAGS wholesale (POPF, IRET, exception entry): no bit is left undefined
 * among those written. */
export function setEflags(state: MachineState, eflags: number, written: number = 0xffffffff): MachineState {
  return withFlags(state, { written, values: eflags });
}

export function iopl(eflags: number): number {
  return (eflags >>> IOPL_SHIFT) & 3;
}
