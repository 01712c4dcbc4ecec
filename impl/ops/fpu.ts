// No coprocessor (spec/system.md SYS.FPU.*): the x87 escapes D8..DF are #UD in
// the slots the opcode map leaves empty, #NM under CR0.EM or CR0.TS, and
// otherwise do nothing (no memory access); WAIT is #NM only with TS and MP.
import type { Cpu, Decoded } from '../cpu';
import { fault, NM, ud } from '../faults';
import { X87_SLOTS } from '../../model/isa/opcodes';

const CR0_MP = 2, CR0_EM = 4, CR0_TS = 8;

export function coprocessorEscape(cpu: Cpu, d: Decoded): void {
  const op = d.variant;
  const defined = d.mod === 3 ? X87_SLOTS.register.has((op << 8) | 0xc0 | (d.reg << 3) | d.rm) : X87_SLOTS.memory.has((op << 3) | d.reg);
  if (!defined) ud();
  if (cpu.cr0 & (CR0_EM | CR0_TS)) fault(NM);
}

export function coprocessorWait(cpu: Cpu): void {
  if (cpu.cr0 & CR0_TS && cpu.cr0 & CR0_MP) fault(NM);
}
