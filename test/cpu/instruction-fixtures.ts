// Small builders for hand-worked handler tests: a flat ring-0 machine with
// 1 MiB of RAM, instructions written as ASTs, and memory peeks.
import type { Instruction, Operand, OperandSize } from '../../model/isa/ast';
import { readPhysical, writePhysical } from '../../model/cpu/memory';
import { initialState, type MachineState } from '../../model/cpu/state';
import type { Outcome } from '../../model/cpu/outcome';
import { userHandlers } from '../../model/cpu/instructions/index';

export const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;

/** A flat machine with the given registers and EFLAGS (bit 1 always set). */
export function machine(regs: Partial<Record<number, number>> = {}, eflags = 0): MachineState {
  const base = initialState(1 << 20);
  const r = base.regs.slice();
  r[ESP] = 0x8000;
  for (const [k, v] of Object.entries(regs)) r[Number(k)] = v! >>> 0;
  return { ...base, regs: r, eflags: (eflags | 2) >>> 0, eip: 0x1000 };
}

export function poke(state: MachineState, address: number, size: OperandSize, value: number): MachineState {
  return { ...state, memory: writePhysical(state.memory, address, (size / 8) as 1 | 2 | 4, value >>> 0) };
}

export const peek = (state: MachineState, address: number, size: OperandSize): number =>
  readPhysical(state.memory, address, (size / 8) as 1 | 2 | 4);

export const reg = (size: OperandSize, r: number): Operand => ({ kind: 'reg', size, reg: r });
export const imm = (size: OperandSize, value: number): Operand => ({ kind: 'imm', size, value: value >>> 0 });
export const rel = (offset: number): Operand => ({ kind: 'rel', size: 32, offset });
export const mem = (size: 0 | 8 | 16 | 32 | 64, base: number | null, disp = 0, index: number | null = null, scale: 1 | 2 | 4 | 8 = 1): Operand =>
  ({ kind: 'mem', size, base, index, scale, disp: disp >>> 0 });

export function ins(mnemonic: string, operands: Operand[] = [], extra: Partial<Instruction> = {}): Instruction {
  return { mnemonic, operands, operandSize: 32, segment: null, rep: null, lock: false, ...extra };
}

/** Run one instruction through the user-level handlers; the next
 * instruction is assumed to start `length` bytes after EIP. */
export function run(state: MachineState, instr: Instruction, length = 2): Outcome {
  const handler = userHandlers[instr.mnemonic];
  if (handler === undefined) throw new Error(`no handler for ${instr.mnemonic}`);
  return handler(state, instr, state.eip + length);
}

/** Run and insist on success. */
export function ok(state: MachineState, instr: Instruction, length = 2): MachineState {
  const out = run(state, instr, length);
  if (out.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(out)}`);
  return out.state;
}
