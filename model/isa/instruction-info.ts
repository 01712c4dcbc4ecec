// What each mnemonic of the opcode map does to EFLAGS, and how it behaves
// at CPL > 0. The CPU model reads these static masks; the model/impl
// comparison masks `flagsUndefined`. Convention: undefined ⊆ written (a flag
// left undefined is one the instruction may change to any value).
//
// Classes (DESIGN.md §1, Popek & Goldberg):
//   ordinary    runs the same at every CPL;
//   privileged  raises #GP(0) at CPL > 0;
//   sensitive   reads or changes privileged state but does not trap at CPL > 0;
//   iopl        faults or not depending on IOPL (and, for I/O, the TSS bitmap).

import type { Instruction } from './ast';
import {
  AF, ALL_FLAGS, CF, CONDITION_FLAGS, CONDITION_READS, DF, IF, NT, OF, PF, RF, SF, STATUS, TF, VM, ZF,
} from './flags';
import { MNEMONICS, X87_MNEMONICS } from './opcodes';

const HINT_NOPS = MNEMONICS.filter((m) => m.startsWith('hint_nop'));

export type InstructionClass = 'ordinary' | 'privileged' | 'sensitive' | 'iopl';

export interface InstructionInfo {
  readonly class: InstructionClass;
  readonly flagsRead: number;
  readonly flagsWritten: number;
  readonly flagsUndefined: number;
}

const info = (cls: InstructionClass, read = 0, written = 0, undefinedFlags = 0): InstructionInfo => ({
  class: cls, flagsRead: read, flagsWritten: written | undefinedFlags, flagsUndefined: undefinedFlags,
});

const ORDINARY = info('ordinary');
const ARITH = info('ordinary', 0, STATUS);
const ARITH_WITH_CARRY = info('ordinary', CF, STATUS);
const LOGIC = info('ordinary', 0, STATUS, AF);
const SHIFT = info('ordinary', 0, STATUS, AF | OF);
const ROTATE = info('ordinary', 0, CF | OF, OF);
const ROTATE_THROUGH_CARRY = info('ordinary', CF, CF | OF, OF);
const MULTIPLY = info('ordinary', 0, OF | CF, SF | ZF | AF | PF);
const DIVIDE = info('ordinary', 0, 0, STATUS);
const BIT_TEST = info('ordinary', 0, CF, OF | SF | AF | PF);
const BIT_SCAN = info('ordinary', 0, ZF, CF | OF | SF | AF | PF);
const STRING = info('ordinary', DF);
const STRING_COMPARE = info('ordinary', DF, STATUS);
/** Interrupt delivery clears TF, NT, RF, VM and (through an interrupt gate) IF. */
const DELIVERY = TF | IF | NT | RF | VM;
const DESCRIPTOR_CHECK = info('sensitive', 0, ZF);

const TABLE: Readonly<Record<string, InstructionInfo>> = {
  mov: ORDINARY, movzx: ORDINARY, movsx: ORDINARY, xchg: ORDINARY, nop: ORDINARY,
  push: ORDINARY, pop: ORDINARY, pusha: ORDINARY, popa: ORDINARY, lea: ORDINARY,
  cbw: ORDINARY, cwd: ORDINARY, bswap: ORDINARY,
  lahf: info('ordinary', SF | ZF | AF | PF | CF),
  sahf: info('ordinary', 0, SF | ZF | AF | PF | CF),
  xadd: ARITH, cmpxchg: ARITH, cmpxchg8b: info('ordinary', 0, ZF),
  lds: info('sensitive'), les: info('sensitive'), lfs: info('sensitive'), lgs: info('sensitive'), lss: info('sensitive'),
  arpl: info('ordinary', 0, ZF),
  add: ARITH, sub: ARITH, cmp: ARITH, neg: ARITH,
  adc: ARITH_WITH_CARRY, sbb: ARITH_WITH_CARRY,
  and: LOGIC, or: LOGIC, xor: LOGIC, test: LOGIC,
  inc: info('ordinary', 0, OF | SF | ZF | AF | PF), dec: info('ordinary', 0, OF | SF | ZF | AF | PF),
  not: ORDINARY,
  rol: ROTATE, ror: ROTATE, rcl: ROTATE_THROUGH_CARRY, rcr: ROTATE_THROUGH_CARRY,
  shl: SHIFT, shr: SHIFT, sar: SHIFT, shld: SHIFT, shrd: SHIFT,
  mul: MULTIPLY, imul: MULTIPLY, div: DIVIDE, idiv: DIVIDE,
  daa: info('ordinary', AF | CF, SF | ZF | AF | PF | CF, OF),
  das: info('ordinary', AF | CF, SF | ZF | AF | PF | CF, OF),
  aaa: info('ordinary', AF, AF | CF, OF | SF | ZF | PF),
  aas: info('ordinary', AF, AF | CF, OF | SF | ZF | PF),
  aam: info('ordinary', 0, SF | ZF | PF, OF | AF | CF),
  aad: info('ordinary', 0, SF | ZF | PF, OF | AF | CF),
  bt: BIT_TEST, bts: BIT_TEST, btr: BIT_TEST, btc: BIT_TEST,
  bsf: BIT_SCAN, bsr: BIT_SCAN, tzcnt: BIT_SCAN, lzcnt: BIT_SCAN,
  rdtsc: info('sensitive'), rdmsr: info('privileged'), wrmsr: info('privileged'),
  sysenter: info('sensitive', 0, VM | IF | RF), sysexit: info('privileged'),
  pause: ORDINARY, xlat: ORDINARY, ud1: ORDINARY, int1: info('sensitive', 0, DELIVERY), invd: info('privileged'),
  ...Object.fromEntries(HINT_NOPS.map((m) => [m, ORDINARY])),
  // No coprocessor: every escape and WAIT change nothing but EIP (SYS.FPU.*).
  wait: ORDINARY, ...Object.fromEntries(X87_MNEMONICS.map((m) => [m, ORDINARY])),
  movs: STRING, stos: STRING, lods: STRING, cmps: STRING_COMPARE, scas: STRING_COMPARE,
  ins: info('iopl', DF), outs: info('iopl', DF),
  jcc: info('ordinary', CONDITION_FLAGS), setcc: info('ordinary', CONDITION_FLAGS),
  cmovcc: info('ordinary', CONDITION_FLAGS),
  loop: ORDINARY, loope: info('ordinary', ZF), loopne: info('ordinary', ZF), jecxz: ORDINARY,
  jmp: ORDINARY, call: ORDINARY, ret: ORDINARY, enter: ORDINARY, leave: ORDINARY,
  jmpf: info('sensitive', 0, DELIVERY), callf: info('sensitive', 0, DELIVERY), retf: info('sensitive'),
  int: info('sensitive', 0, DELIVERY), int3: info('sensitive', 0, DELIVERY),
  into: info('sensitive', OF, DELIVERY), iret: info('sensitive', NT, ALL_FLAGS),
  bound: ORDINARY,
  hlt: info('privileged'),
  cmc: info('ordinary', CF, CF), clc: info('ordinary', 0, CF), stc: info('ordinary', 0, CF),
  cli: info('iopl', 0, IF), sti: info('iopl', 0, IF),
  cld: info('ordinary', 0, DF), std: info('ordinary', 0, DF),
  pushf: info('sensitive', ALL_FLAGS & ~(VM | RF)), popf: info('sensitive', 0, ALL_FLAGS & ~(VM | RF)),
  cpuid: ORDINARY, ud2: ORDINARY, wbinvd: info('privileged'),
  in: info('iopl'), out: info('iopl'),
  sldt: info('sensitive'), str: info('sensitive'), sgdt: info('sensitive'), sidt: info('sensitive'),
  smsw: info('sensitive'),
  lldt: info('privileged'), ltr: info('privileged'), lgdt: info('privileged'), lidt: info('privileged'),
  lmsw: info('privileged'), clts: info('privileged'), invlpg: info('privileged'),
  verr: DESCRIPTOR_CHECK, verw: DESCRIPTOR_CHECK, lar: DESCRIPTOR_CHECK, lsl: DESCRIPTOR_CHECK,
};

// Every mnemonic of the map has an entry, and nothing else does.
for (const m of MNEMONICS) if (!(m in TABLE)) throw new Error(`instruction-info: no entry for '${m}'`);
for (const m of Object.keys(TABLE)) if (!MNEMONICS.includes(m)) throw new Error(`instruction-info: '${m}' is not in the map`);

/** Static class and flag masks of a mnemonic (the union over its forms). */
export function instructionInfo(mnemonic: string): InstructionInfo {
  const found = TABLE[mnemonic];
  if (found === undefined) throw new Error(`unknown mnemonic '${mnemonic}'`);
  return found;
}

/** MOV to or from a control register: privileged, and leaves the status flags undefined. */
const MOVE_CONTROL_REGISTER = info('privileged', 0, 0, STATUS);

/**
 * Class and flag masks of one instruction, refined by its operands: MOV
 * with a control register is privileged; MOV, PUSH and POP of a segment
 * register are sensitive; a condition reads only its own flags.
 */
export function instructionInfoOf(instruction: Instruction): InstructionInfo {
  const base = instructionInfo(instruction.mnemonic);
  if (instruction.operands.some((o) => o.kind === 'creg' || o.kind === 'dreg')) return MOVE_CONTROL_REGISTER;
  if (instruction.operands.some((o) => o.kind === 'sreg')) return { ...base, class: 'sensitive' };
  if (instruction.condition !== undefined) {
    const reads = CONDITION_READS[instruction.condition] ?? CONDITION_FLAGS;
    return { ...base, flagsRead: base.flagsRead & ~CONDITION_FLAGS | reads };
  }
  return base;
}
