// Small helpers to write instruction ASTs and register operands in tests.
import type { Instruction, Operand } from '../../model/isa/ast';

export function insn(mnemonic: string, operands: Operand[] = [], extra: Partial<Instruction> = {}): Instruction {
  return { mnemonic, operands, operandSize: 32, segment: null, rep: null, lock: false, ...extra };
}
export const reg32 = (reg: number): Operand => ({ kind: 'reg', size: 32, reg });
export const reg16 = (reg: number): Operand => ({ kind: 'reg', size: 16, reg });
export const reg8 = (reg: number): Operand => ({ kind: 'reg', size: 8, reg });
export const imm = (value: number, size: 8 | 16 | 32 = 32): Operand => ({ kind: 'imm', size, value });
export const sreg = (name: 'es' | 'cs' | 'ss' | 'ds' | 'fs' | 'gs'): Operand => ({ kind: 'sreg', reg: ['es', 'cs', 'ss', 'ds', 'fs', 'gs'].indexOf(name) });
export const creg = (reg: 0 | 2 | 3 | 4): Operand => ({ kind: 'creg', reg });
export const mem = (disp: number, size: 0 | 8 | 16 | 32 | 48 | 64 = 32, base: number | null = null): Operand =>
  ({ kind: 'mem', size, base, index: null, scale: 1, disp });
