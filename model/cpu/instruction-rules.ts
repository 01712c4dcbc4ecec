// The spec rule that specifies each instruction handler, for explanations
// (spec/explain.md, EXPLAIN.STEP.1): execute.ts picks a handler by mnemonic
// (and, for MOV/PUSH/POP, by the kind of register operand); this table names
// the rule of spec/instructions.md, system.md, segmentation.md, io.md or
// privilege.md that the handler implements, keyed the same way.
import type { Instruction } from '../isa/ast';

const rules = (id: string, mnemonics: string): Array<[string, string]> => mnemonics.split(' ').map((m) => [m, id]);

/** By mnemonic: the rule of the handler execute.ts dispatches to. */
export const INSTRUCTION_RULES: Readonly<Record<string, string>> = Object.fromEntries([
  ...rules('INS.ALU.1', 'add adc'),
  ...rules('INS.ALU.2', 'sub sbb cmp'),
  ...rules('INS.ALU.3', 'and or xor test'),
  ...rules('INS.ALU.4', 'inc dec'),
  ...rules('INS.ALU.5', 'neg'),
  ...rules('INS.ALU.6', 'not'),
  ...rules('INS.SHIFT.2', 'shl shr sar'),
  ...rules('INS.SHIFT.4', 'rol ror rcl rcr'),
  ...rules('INS.SHIFT.6', 'shld shrd'),
  ...rules('INS.MUL.1', 'mul imul'),
  ...rules('INS.DIV.1', 'div idiv'),
  ...rules('INS.BCD.1', 'daa'),
  ...rules('INS.BCD.2', 'das'),
  ...rules('INS.BCD.3', 'aaa aas'),
  ...rules('INS.BCD.4', 'aam aad'),
  ...rules('INS.BIT.1', 'bt bts btr btc'),
  ...rules('INS.BIT.3', 'bsf bsr'),
  ...rules('INS.BIT.4', 'bswap'),
  ...rules('INS.BIT.5', 'tzcnt lzcnt'),
  ...rules('INS.COND.2', 'setcc'),
  ...rules('INS.COND.3', 'cmovcc'),
  ...rules('INS.BRANCH.1', 'jmp'),
  ...rules('INS.BRANCH.2', 'jcc jecxz'),
  ...rules('INS.BRANCH.3', 'loop loope loopne'),
  ...rules('INS.BRANCH.4', 'call'),
  ...rules('INS.BRANCH.5', 'ret'),
  ...rules('INS.BOUND.1', 'bound'),
  ...rules('INS.DATA.1', 'mov'),
  ...rules('INS.DATA.2', 'movzx movsx'),
  ...rules('INS.DATA.3', 'xchg'),
  ...rules('INS.DATA.4', 'xadd'),
  ...rules('INS.DATA.5', 'cmpxchg'),
  ...rules('INS.DATA.6', 'lea'),
  ...rules('INS.DATA.7', 'cbw cwd'),
  ...rules('INS.DATA.8', 'xlat'),
  ...rules('INS.DATA.9', 'cmpxchg8b'),
  ...rules('INS.NOP.1', 'nop pause'),
  ...rules('INS.FLAG.1', 'lahf sahf'),
  ...rules('INS.FLAG.2', 'clc stc cmc cld std'),
  ...rules('INS.STACK.1', 'push'),
  ...rules('INS.STACK.2', 'pop'),
  ...rules('INS.STACK.3', 'pusha popa'),
  ...rules('INS.STACK.4', 'enter'),
  ...rules('INS.STACK.5', 'leave'),
  ...rules('INS.STRING.1', 'movs cmps scas lods stos'),
  ...rules('IO.STRING.1', 'ins outs'),
  ...rules('IO.PERM.1', 'in out'),
  ...rules('IO.IF.1', 'cli sti'),
  ...rules('EXC.HALT.2', 'hlt'),
  ...rules('PRIV.PUSHF.1', 'pushf'),
  ...rules('PRIV.POPF.1', 'popf'),
  ...rules('PRIV.DIRECT.1', 'jmpf callf'),
  ...rules('PRIV.RET.1', 'retf'),
  ...rules('PRIV.IRET.3', 'iret'),
  ...rules('EXC.SOFT.1', 'int int1 int3 into'),
  ...rules('SEG.FARPTR.1', 'lds les lfs lgs lss'),
  ...rules('SEG.ARPL.1', 'arpl'),
  ...rules('SEG.PROBE.1', 'lar lsl verr verw'),
  ...rules('SYS.TABLE.1', 'lgdt lidt'),
  ...rules('SYS.TABLE.2', 'sgdt sidt'),
  ...rules('SYS.STORE.1', 'sldt str smsw'),
  ...rules('SYS.LLDT.1', 'lldt'),
  ...rules('SYS.LTR.1', 'ltr'),
  ...rules('SYS.LMSW.1', 'lmsw'),
  ...rules('SYS.CLTS.1', 'clts'),
  ...rules('SYS.CPUID.1', 'cpuid'),
  ...rules('SYS.TSC.2', 'rdtsc'),
  ...rules('SYS.MSR.2', 'rdmsr'),
  ...rules('SYS.MSR.3', 'wrmsr'),
  ...rules('SYS.SYSENTER.1', 'sysenter'),
  ...rules('SYS.SYSEXIT.1', 'sysexit'),
  ...rules('SYS.UD2.1', 'ud1 ud2'),
  ...rules('SYS.WBINVD.1', 'wbinvd invd'),
  ...rules('SYS.FPU.3', 'wait'),
  ...rules('PAGE.TLB.3', 'invlpg'),
]);

/** The rule of the handler `instr` runs: as execute.ts routes MOV, PUSH and
 * POP of segment, control and debug registers; escapes (f…) and the hint
 * NOPs by family; otherwise by mnemonic. Undefined for a mnemonic the table
 * does not know. */
export function instructionRule(instr: Instruction): string | undefined {
  const m = instr.mnemonic;
  if (m === 'mov' || m === 'push' || m === 'pop') {
    const creg = instr.operands.find((op) => op.kind === 'creg');
    if (creg !== undefined) return creg.reg === 3 ? 'SYS.CR.2' : creg.reg === 4 ? 'SYS.CR.3' : 'SYS.CR.1';
    if (instr.operands.some((op) => op.kind === 'dreg')) return 'SYS.DR.1';
    if (instr.operands.some((op) => op.kind === 'sreg')) return m === 'mov' ? 'SEG.MOV.1' : m === 'push' ? 'SEG.PUSH.1' : 'SEG.POP.1';
  }
  if (m.startsWith('hint_nop')) return 'INS.NOP.1';
  if (m.startsWith('f')) return 'SYS.FPU.2';
  return INSTRUCTION_RULES[m];
}
