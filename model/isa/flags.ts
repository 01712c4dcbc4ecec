// EFLAGS bit masks, as the opcode map uses them to say which flags an
// instruction reads, writes and leaves undefined.

export const CF = 1 << 0;
export const PF = 1 << 2;
export const AF = 1 << 4;
export const ZF = 1 << 6;
export const SF = 1 << 7;
export const TF = 1 << 8;
export const IF = 1 << 9;
export const DF = 1 << 10;
export const OF = 1 << 11;
export const IOPL = 3 << 12;
export const NT = 1 << 14;
export const RF = 1 << 16;
export const VM = 1 << 17;
export const AC = 1 << 18;
export const VIF = 1 << 19;
export const VIP = 1 << 20;
export const ID = 1 << 21;

/** The six arithmetic status flags. */
export const STATUS = OF | SF | ZF | AF | PF | CF;
/** Every flag POPF/IRET may change (subject to CPL and IOPL at run time). */
export const ALL_FLAGS = STATUS | TF | IF | DF | IOPL | NT | RF | VM | AC | VIF | VIP | ID;
/** The flags the sixteen conditions of Jcc/SETcc/CMOVcc read between them. */
export const CONDITION_FLAGS = OF | SF | ZF | PF | CF;

/** Flags read by each condition, in CONDITION_NAMES order. */
export const CONDITION_READS: readonly number[] = [
  OF, OF, CF, CF, ZF, ZF, CF | ZF, CF | ZF, SF, SF, PF, PF, SF | OF, SF | OF, ZF | SF | OF, ZF | SF | OF,
];
