// The fetch-decode-execute loop. One step executes one instruction (a
// repeated string instruction counts as one) or delivers one interrupt.
//
// Fetch goes through the code cache: decoded instructions are kept per
// physical frame and offset, and a frame's entries are dropped when anything
// writes to that frame (memory.ts), so self-modifying code is re-decoded.
// An instruction that crosses a page boundary is never cached, because its
// second half depends on a second translation.
import type { StepEvent } from '../model/machine';
import { type Cpu, type Decoded, CS, SS, DECODED_NOTED, codeSlots } from './cpu';
import { decode } from './decode';
import { CpuFault, PF, UD, Unsupported, gp } from './faults';
import { IF, TF } from './flags';
import { translate, undoWalks } from './paging';
import { Source, deliverException } from './delivery';
import { moveToSegment, popSegment } from './ops/system';

export const RETIRED: StepEvent = Object.freeze({ kind: 'retired' });
const HALTED: StepEvent = Object.freeze({ kind: 'halted' });
/** The event of INT n, INT3, INTO or INT1 delivered through vector n: one
 * frozen object per vector, not one per interrupt. */
export const SOFTWARE_EVENTS: readonly StepEvent[] = Array.from({ length: 256 },
  (_, vector) => Object.freeze({ kind: 'exception', vector, errorCode: null }));

function fetchByte(cpu: Cpu, offset: number): number {
  if (offset > cpu.segLimit[CS]) gp(0);
  return cpu.memory.read8(translate(cpu, (cpu.segBase[CS] + offset) >>> 0, false, cpu.cpl === 3));
}

function fetch(cpu: Cpu): Decoded {
  const eip = cpu.eip;
  if (eip > cpu.segLimit[CS]) gp(0);
  const linear = (cpu.segBase[CS] + eip) >>> 0;
  let physical: number;
  if (linear >>> 12 === cpu.fetchPage) physical = (cpu.fetchFrame | (linear & 0xfff)) >>> 0;
  else {
    physical = translate(cpu, linear, false, cpu.cpl === 3);
    cpu.fetchPage = linear >>> 12;
    cpu.fetchFrame = physical & ~0xfff;
  }
  const frame = physical >>> 12, offset = physical & 0xfff;
  const page = cpu.codeCache[frame];
  let d = page === undefined ? undefined : page[offset];
  if (d === undefined) {
    try {
      d = decode((i) => fetchByte(cpu, eip + i)); // no wrap: a byte past 4 GiB is past the limit
    } catch (e) {
      // An undefined opcode was fetched in full: its page walks stand.
      if (e instanceof CpuFault && e.vector === UD) cpu.undoTop = 0;
      throw e;
    }
    if (offset + d.length <= 0x1000 && frame < cpu.memory.codePages.length - 1) {
      let entries = cpu.codeCache[frame];
      if (entries === undefined) entries = cpu.codeCache[frame] = codeSlots();
      entries[offset] = d;
      if (cpu.decodedAt.length <= DECODED_NOTED) cpu.decodedAt.push(physical);
      cpu.markCode(physical, d.length);
    }
  } else if (eip + d.length - 1 > cpu.segLimit[CS]) gp(0);
  return d;
}

export function step(cpu: Cpu): StepEvent {
  if (cpu.shutdownReason !== null) return { kind: 'shutdown', reason: cpu.shutdownReason };
  // Once the exit port has been written, every step reports the exit.
  if (cpu.devices.exitCode !== null) return { kind: 'exit', code: cpu.devices.exitCode };
  const shadow = cpu.interruptShadow;
  cpu.interruptShadow = false;
  const devices = cpu.devices;
  // Only look at the PICs when a line is requested (or the CPU waits in HLT).
  if (cpu.flags & IF && !shadow && (((devices.master.irr & ~devices.master.imr) | (devices.slave.irr & ~devices.slave.imr)) !== 0 || cpu.halted)) {
    let vector = cpu.devices.pendingVector();
    if (vector < 0 && cpu.halted && cpu.devices.timerRunning) {
      // Halted with interrupts on: let time pass until the timer fires.
      cpu.devices.idleTicks += cpu.devices.timerCount; // the clock moves on by the ticks skipped
      cpu.devices.timerCount = 1;
      cpu.devices.tick();
      vector = cpu.devices.pendingVector();
    }
    if (vector >= 0) {
      cpu.devices.acknowledge();
      cpu.halted = false;
      return delivered(cpu, deliverException(cpu, vector, null, Source.External, cpu.eip), vector);
    }
  }
  if (cpu.halted) return HALTED;

  const start = cpu.eip;
  cpu.softwareVector = -1;
  cpu.undoTop = 0;
  cpu.logWalks = true;
  let d: Decoded;
  try {
    d = fetch(cpu);
  } catch (e) {
    return faulted(cpu, e, start);
  }
  return execute(cpu, d, start);
}

/**
 * Execute the fetched instruction `d` at `start` and retire it: the second
 * half of step(), after its checks and the fetch (the walk log holds only
 * the fetch's walks, which stand). run.ts calls it directly for an
 * instruction found in the code cache when step()'s checks are known to pass.
 */
export function execute(cpu: Cpu, d: Decoded, start: number): StepEvent {
  cpu.undoTop = 0; // a successful fetch keeps its own walks
  cpu.softwareVector = -1;
  cpu.logWalks = true;
  const stepping = cpu.flags & TF; // TF as the instruction starts (EXC.STEP.1)
  try {
    cpu.next = (start + d.length) >>> 0;
    d.exec(cpu, d);
    cpu.logWalks = false;
    cpu.eip = cpu.next;
  } catch (e) {
    return faulted(cpu, e, start);
  }
  cpu.instructionCount++;
  cpu.devices.tick();
  if (cpu.devices.exitCode !== null) return { kind: 'exit', code: cpu.devices.exitCode };
  if (cpu.softwareVector >= 0) return SOFTWARE_EVENTS[cpu.softwareVector];
  if (stepping !== 0 && !loadsStackSegment(d)) return singleStepTrap(cpu);
  if (cpu.halted) return HALTED;
  return RETIRED;
}

/** MOV SS or POP SS: no single-step trap after it; the next instruction's
 * own trap stands for it (the model's EXC.SHADOW.2). */
const loadsStackSegment = (d: Decoded): boolean => (d.exec === moveToSegment || d.exec === popSegment) && d.reg === SS;

/** DR6.BS, the single-step condition. */
const DR6_BS = 0x4000;

/** The single-step trap after an instruction that started with TF set and
 * retired (not INT n, INT3, INTO, INT1, whose delivery cleared TF): DR6.BS
 * set, #DB delivered as a trap with the next EIP, the STI shadow and a halt
 * ended (the model's EXC.STEP.1, EXC.STEP.3, EXC.STEP.4). */
function singleStepTrap(cpu: Cpu): StepEvent {
  cpu.debug[6] = (cpu.debug[6] | DR6_BS) >>> 0;
  cpu.interruptShadow = false;
  cpu.halted = false;
  return delivered(cpu, deliverException(cpu, 1, null, Source.Exception, cpu.eip), -1);
}

/** An instruction starting at `start` threw: take back its page walks,
 * leave EIP on it, and deliver the fault (or report the model error). */
export function faulted(cpu: Cpu, e: unknown, start: number): StepEvent {
  cpu.logWalks = false;
  undoWalks(cpu);
  cpu.eip = cpu.next = start;
  if (e instanceof CpuFault) return delivered(cpu, deliverException(cpu, e.vector, e.errorCode, Source.Exception, start, e.address), -1);
  if (e instanceof Unsupported) return { kind: 'model-error', message: e.message };
  throw e;
}

/** faulted() for a page fault given as its error code and linear address
 * (a block that found it ahead, fast-access.ts walkAhead): no CpuFault is
 * made for it. */
export function pageFaulted(cpu: Cpu, errorCode: number, linear: number, start: number): StepEvent {
  cpu.logWalks = false;
  undoWalks(cpu);
  cpu.eip = cpu.next = start;
  return delivered(cpu, deliverException(cpu, PF, errorCode, Source.Exception, start, linear), -1);
}

/** The event of an exception, one frozen object per vector and small error
 * code (none, or 0..31), as SOFTWARE_EVENTS: a page fault every few dozen
 * instructions allocated one each. */
const EXCEPTION_EVENTS: (StepEvent | null)[] = new Array<StepEvent | null>(256 * 33).fill(null);
function exceptionEvent(vector: number, errorCode: number | null): StepEvent {
  if (errorCode !== null && (errorCode < 0 || errorCode > 31)) return { kind: 'exception', vector, errorCode };
  const key = vector * 33 + (errorCode === null ? 32 : errorCode);
  return EXCEPTION_EVENTS[key] ??= Object.freeze({ kind: 'exception', vector, errorCode });
}

export function delivered(cpu: Cpu, outcome: ReturnType<typeof deliverException>, interruptVector: number): StepEvent {
  if (outcome.kind === 'shutdown') {
    cpu.shutdownReason = outcome.reason;
    cpu.halted = true;
    return { kind: 'shutdown', reason: outcome.reason };
  }
  if (interruptVector >= 0 && outcome.vector === interruptVector) return { kind: 'interrupt', vector: interruptVector };
  return exceptionEvent(outcome.vector, outcome.errorCode);
}
