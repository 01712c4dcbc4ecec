// [VMM.EQ] What "the same observable behaviour" means, made executable: a
// guest's console, its I/O trace and its virtual machine state at
// checkpoints, collected the same way from a native run (the native build
// at ring 0 on the bare model) and from a run under the monitor (the meso
// build at ring 1), so that a test can compare them.
import { step } from '../../model/cpu/step';
import { cpl, readLinear } from '../../model/cpu/context';
import { consoleBytes } from '../../model/cpu/devices';
import { initialState, type MachineState } from '../../model/cpu/state';
import { writeBytes } from '../../model/cpu/memory';
import { loadMultiboot } from '../../model/boot/multiboot';
import { decode } from '../../model/isa/decoder';
import type { Instruction } from '../../model/isa/ast';
import { bootGuest } from '../../model/vmm/boot';
import { runWorld } from '../../model/vmm/run';
import { DEFAULT_CONFIG, type VmmConfig } from '../../model/vmm/config';
import { defaultRules, type VmmRules } from '../../model/vmm/rules';
import type { World } from '../../model/vmm/state';

/** One port access, as the devices saw it. */
export interface PortAccess {
  readonly direction: 'in' | 'out';
  readonly port: number;
  readonly size: 8 | 16 | 32;
  readonly value: number;
}

/** The guest's virtual machine state when one of its user processes makes a
 * system call (CPL 3, about to execute INT n). */
export interface Checkpoint {
  /** The page directory of the calling process (virtual CR3 under the monitor). */
  readonly cr3: number;
  readonly regs: readonly number[];
  readonly eip: number;
  /** EFLAGS: the status flags, DF, IF and IOPL (undefined flags masked out). */
  readonly eflags: number;
  readonly selectors: readonly number[];
}

/** The privileged registers the guest set, as it sees them. */
export interface VirtualRegisters {
  readonly cr0: number;
  readonly cr3: number;
  readonly cr4: number;
  readonly gdtr: { readonly base: number; readonly limit: number };
  readonly idtr: { readonly base: number; readonly limit: number };
}

export interface Observation {
  readonly console: string;
  readonly end: string;
  readonly steps: number;
  readonly io: readonly PortAccess[];
  /** Checkpoints per process (keyed by CR3), consecutive repeats dropped
   * (an INT interrupted by the timer before it ran is seen twice). */
  readonly checkpoints: ReadonlyMap<number, readonly Checkpoint[]>;
  readonly registers: VirtualRegisters;
}

const STATUS_FLAGS = 0x8d5, DF = 0x400, IF = 0x200, IOPL = 0x3000;

/** The instruction at CS:EIP as the processor would fetch it, or null (not mapped now). */
export function instructionAt(state: MachineState): Instruction | null {
  const base = (state.segments.cs.base + state.eip) >>> 0;
  const user = cpl(state) === 3;
  const bytes: number[] = [];
  for (let i = 0; i < 15; i++) {
    const r = readLinear(state, base + i, 1, user);
    if (r.kind !== 'ok') return null;
    bytes.push(r.value.value);
    const d = decode(bytes);
    if (d.kind === 'ok') return d.instruction;
    if (d.kind !== 'truncated') return null;
  }
  return null;
}

const isPortInstruction = (i: Instruction | null): i is Instruction => i !== null && (i.mnemonic === 'in' || i.mnemonic === 'out');

/** The access an IN/OUT made, from the registers before (OUT) or after (IN) it. */
function portAccess(instr: Instruction, before: MachineState, after: MachineState): PortAccess | null {
  const isIn = instr.mnemonic === 'in';
  const data = isIn ? instr.operands[0] : instr.operands[1];
  const portOp = isIn ? instr.operands[1] : instr.operands[0];
  if (data?.kind !== 'reg' || portOp === undefined) return null;
  const port = portOp.kind === 'imm' ? portOp.value & 0xff : before.regs[2]! & 0xffff;
  const mask = data.size === 32 ? 0xffffffff : (1 << data.size) - 1;
  const value = ((isIn ? after : before).regs[0]! & mask) >>> 0;
  return { direction: isIn ? 'in' : 'out', port, size: data.size, value };
}

function checkpointOf(state: MachineState, cr3: number): Checkpoint {
  const s = state.segments;
  const keep = (STATUS_FLAGS & ~state.undefinedFlags) | DF | IF | IOPL;
  return {
    cr3, regs: state.regs.slice(), eip: state.eip, eflags: (state.eflags & keep) >>> 0,
    selectors: [s.cs.selector, s.ss.selector, s.ds.selector, s.es.selector, s.fs.selector, s.gs.selector],
  };
}

/** Collects checkpoints, dropping consecutive repeats per process. */
class CheckpointLog {
  readonly byProcess = new Map<number, Checkpoint[]>();
  add(c: Checkpoint): void {
    const list = this.byProcess.get(c.cr3) ?? [];
    const last = list[list.length - 1];
    if (last === undefined || JSON.stringify(last) !== JSON.stringify(c)) list.push(c);
    this.byProcess.set(c.cr3, list);
  }
}

const isSystemCall = (state: MachineState, instr: Instruction | null): boolean => cpl(state) === 3 && instr?.mnemonic === 'int';

/** Run an image natively: at ring 0 on the bare model with `memorySize` bytes.
 * Without `detailed`, only the console and the end are collected (faster). */
export function observeNative(image: Uint8Array, maxSteps: number, detailed = true, memorySize = DEFAULT_CONFIG.partitionSize): Observation {
  const loaded = loadMultiboot(image, memorySize);
  if (loaded.kind === 'error') throw new Error(loaded.message);
  let state = initialState(memorySize);
  for (const w of loaded.writes) state = { ...state, memory: writeBytes(state.memory, w.address, w.bytes) };
  const e = loaded.entry;
  state = {
    ...state, eip: e.eip, eflags: e.eflags, regs: [e.regs.eax, e.regs.ecx, e.regs.edx, e.regs.ebx, e.regs.esp, e.regs.ebp, e.regs.esi, e.regs.edi],
    segments: e.segments, cr0: e.cr0, cr3: e.cr3, cr4: e.cr4, gdtr: e.gdtr, idtr: e.idtr, ldtr: e.ldtr, tr: e.tr,
  };
  const io: PortAccess[] = [];
  const log = new CheckpointLog();
  let end = 'step limit', steps = 0;
  for (; steps < maxSteps; steps++) {
    const instr = detailed ? instructionAt(state) : null;
    if (isSystemCall(state, instr)) log.add(checkpointOf(state, state.cr3));
    const r = step(state);
    if (isPortInstruction(instr) && (r.event.kind === 'retired' || r.event.kind === 'exit')) {
      const a = portAccess(instr, state, r.state);
      if (a !== null) io.push(a);
    }
    const wasHalted = state.halted;
    state = r.state;
    const k = r.event.kind;
    if (k === 'exit' || k === 'shutdown' || k === 'model-error' || (k === 'halted' && wasHalted)) {
      end = r.event.kind === 'exit' ? `exit ${r.event.code}` : k === 'halted' ? 'halted for good' : k;
      steps++;
      break;
    }
  }
  return {
    console: new TextDecoder('latin1').decode(consoleBytes(state.devices.console)), end, steps, io, checkpoints: log.byProcess,
    registers: { cr0: state.cr0, cr3: state.cr3, cr4: state.cr4, gdtr: state.gdtr, idtr: state.idtr },
  };
}

/** Run an image as a guest of the monitor, collecting the same observation. */
export function observeUnderMonitor(
  image: Uint8Array, maxSteps: number, rules: VmmRules = defaultRules, detailed = true, config: VmmConfig = DEFAULT_CONFIG,
): Observation & { readonly world: World } {
  const boot = bootGuest(image, config, rules);
  if (boot.kind !== 'ok') throw new Error(boot.message);
  const io: PortAccess[] = [];
  const log = new CheckpointLog();
  let pending: { instr: Instruction; state: MachineState } | null = null;
  const r = runWorld(boot.world, maxSteps, !detailed ? undefined : (_before, after, s) => {
    // A port access traps (CPL 1 > IOPL 0); the monitor performs it during the exit step.
    if (pending !== null && s.kind === 'exit') {
      const a = portAccess(pending.instr, pending.state, after.machine);
      if (a !== null) io.push(a);
    }
    pending = null;
    if (after.vmm.stopped !== null || s.kind === 'end') return;
    const m = after.machine;
    if (cpl(m) === 0) return;
    const instr = instructionAt(m);
    if (isSystemCall(m, instr)) log.add(checkpointOf(m, after.vmm.vcpu.cr3));
    if (isPortInstruction(instr)) pending = { instr, state: m };
  });
  const v = r.world.vmm.vcpu;
  return {
    console: r.console, end: r.end, steps: r.steps, io, checkpoints: log.byProcess, world: r.world,
    registers: { cr0: v.cr0, cr3: v.cr3, cr4: v.cr4, gdtr: v.gdtr, idtr: v.idtr },
  };
}
