// The trap frame on the monitor's stack. When the processor delivers an
// exception or interrupt into the monitor, the guest was always at ring 1
// or 3, so the frame always has the outer stack: [error code,] EIP, CS,
// EFLAGS, ESP, SS (SDM vol. 3, 6.12.1). The monitor reads it, edits it,
// and returns with IRET, exactly as a handler written in assembly would.
import { readPhysical, writePhysical, type PhysicalMemory } from '../cpu/memory';
import type { MachineState } from '../cpu/state';
import type { VmmConfig } from './config';

export interface TrapFrame {
  readonly errorCode: number | null;
  readonly eip: number;
  readonly cs: number;
  readonly eflags: number;
  readonly esp: number;
  readonly ss: number;
}

/** Machine address of a linear address inside the VMM region. */
export const monitorMachine = (config: VmmConfig, linear: number): number => config.monitorBase + ((linear - config.vmmBase) >>> 0);

export function readFrame(state: MachineState, config: VmmConfig, hasErrorCode: boolean): TrapFrame {
  const at = (i: number): number => readPhysical(state.memory, monitorMachine(config, state.regs[4]! + 4 * i), 4);
  const k = hasErrorCode ? 1 : 0;
  return { errorCode: hasErrorCode ? at(0) : null, eip: at(k), cs: at(k + 1) & 0xffff, eflags: at(k + 2), esp: at(k + 3), ss: at(k + 4) & 0xffff };
}

/**
 * [VMM.EXIT.6] The monitor returns to the guest by IRET from its entry stub:
 * it drops the error code, writes the (possibly edited) frame back and
 * leaves EIP on the stub, whose only instruction is IRET. The processor then
 * performs the return with all its checks. The real IOPL in the frame is
 * always 0, so that CLI, STI, IN and OUT keep trapping.
 */
// [SENS.PUSHF.1] The EFLAGS the guest resumes with carries its virtual IF
// as the real IF (emulate.ts, CLI/STI) and IOPL 0: PUSHF at ring 1 shows the
// guest's own IF truthfully, and IOPL 0 where a native kernel may see more.
export function writeFrame(state: MachineState, config: VmmConfig, frame: TrapFrame): MachineState {
  const esp = (state.regs[4]! + (frame.errorCode !== null ? 4 : 0)) >>> 0;
  let memory: PhysicalMemory = state.memory;
  const values = [frame.eip, frame.cs, (frame.eflags & ~0x3000) >>> 0, frame.esp, frame.ss];
  values.forEach((v, i) => { memory = writePhysical(memory, monitorMachine(config, esp + 4 * i), 4, v >>> 0); });
  const regs = state.regs.slice();
  regs[4] = esp;
  return { ...state, memory, regs };
}
