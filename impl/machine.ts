// The fast machine behind the Machine interface of model/machine.ts.
import type { CommonState, Machine, SegmentRegister, StepEvent } from '../model/machine';
import { SEGMENT_NAMES } from '../model/isa/ast';
import { Cpu, loadedSystemSegment, recycleCodeSlots, recycleTlb } from './cpu';
import { recycleRam } from './memory';
import { peekEflags, writeEflags } from './flags';
import { flushTlb } from './paging';
import { setSegmentCache } from './segmentation';
import { step } from './step';
import { run } from './run';
import { Unsupported } from './faults';

export class ImplMachine implements Machine {
  readonly name = 'impl' as const;
  readonly cpu: Cpu;

  /** With `recordWrites`, the machine notes every 4 KiB frame of RAM
   * written from now on (writtenPages; memory.ts recordWrittenFrames). */
  constructor(readonly memorySize: number, options: { readonly recordWrites?: boolean } = {}) {
    this.cpu = new Cpu(memorySize);
    if (options.recordWrites === true) this.cpu.memory.recordWrittenFrames();
  }

  /** The pages written since the machine was made (their physical
   * addresses, ascending), or null unless made with `recordWrites`. RAM
   * starts all zero (memory.ts ramOfSize), so every other page is zero.
   * (A test that restarts the record, cpu.memory.recordWrittenFrames(),
   * gets the pages written since then.) */
  writtenPages(): readonly number[] | null {
    const frames = this.ram().writtenFrames();
    return frames === null ? null : frames.map((frame) => frame * 0x1000);
  }

  state(): CommonState {
    // (No closures here: lock step calls this after every step, and tsx
    // names every closure it creates, a property definition each time.)
    const cpu = this.cpu, r = cpu.r32;
    return {
      regs: {
        eax: r[0] >>> 0, ecx: r[1] >>> 0, edx: r[2] >>> 0, ebx: r[3] >>> 0,
        esp: r[4] >>> 0, ebp: r[5] >>> 0, esi: r[6] >>> 0, edi: r[7] >>> 0,
      },
      eip: cpu.eip >>> 0,
      eflags: peekEflags(cpu),
      segments: {
        es: segment(cpu, 0), cs: segment(cpu, 1), ss: segment(cpu, 2), ds: segment(cpu, 3), fs: segment(cpu, 4), gs: segment(cpu, 5),
      },
      cr0: cpu.cr0 >>> 0, cr2: cpu.cr2 >>> 0, cr3: cpu.cr3 >>> 0, cr4: cpu.cr4 >>> 0,
      gdtr: { base: cpu.gdtrBase >>> 0, limit: cpu.gdtrLimit },
      idtr: { base: cpu.idtrBase >>> 0, limit: cpu.idtrLimit },
      ldtr: systemSegment(cpu.ldtr),
      tr: systemSegment(cpu.tr),
      halted: cpu.halted,
      instructionCount: cpu.instructionCount,
      msrs: {
        tscOffsetHigh: cpu.tscOffsetHigh, tscOffsetLow: cpu.tscOffsetLow,
        sysenterCs: cpu.sysenterCs, sysenterEsp: cpu.sysenterEsp, sysenterEip: cpu.sysenterEip,
      },
      debug: { dr0: cpu.debug[0], dr1: cpu.debug[1], dr2: cpu.debug[2], dr3: cpu.debug[3], dr6: cpu.debug[6], dr7: cpu.debug[7] },
    };
  }

  /** Whether the common state is `s`, EFLAGS bits in `undefinedFlags` left
   * out: what statesAgree(s, this.state(), undefinedFlags) says
   * (properties/diff/lockstep.ts), read straight from the fields without
   * building the state; lock step asks it after every step.
   * test/diff-lockstep-agree.test.ts changes every field alone and checks
   * that this notices. */
  agrees(s: CommonState, undefinedFlags: number): boolean {
    const cpu = this.cpu, r = cpu.r32, g = s.regs, seg = s.segments;
    return (s.eflags & ~undefinedFlags) === (peekEflags(cpu) & ~undefinedFlags)
      && s.eip === cpu.eip >>> 0
      && g.eax === r[0] >>> 0 && g.ecx === r[1] >>> 0 && g.edx === r[2] >>> 0 && g.ebx === r[3] >>> 0
      && g.esp === r[4] >>> 0 && g.ebp === r[5] >>> 0 && g.esi === r[6] >>> 0 && g.edi === r[7] >>> 0
      && s.cr0 === cpu.cr0 >>> 0 && s.cr2 === cpu.cr2 >>> 0 && s.cr3 === cpu.cr3 >>> 0 && s.cr4 === cpu.cr4 >>> 0
      && s.halted === cpu.halted && s.instructionCount === cpu.instructionCount
      && segmentIs(cpu, 0, seg.es) && segmentIs(cpu, 1, seg.cs) && segmentIs(cpu, 2, seg.ss)
      && segmentIs(cpu, 3, seg.ds) && segmentIs(cpu, 4, seg.fs) && segmentIs(cpu, 5, seg.gs)
      && systemSegmentIs(cpu.ldtr, s.ldtr) && systemSegmentIs(cpu.tr, s.tr)
      && s.gdtr.base === cpu.gdtrBase >>> 0 && s.gdtr.limit === cpu.gdtrLimit
      && s.idtr.base === cpu.idtrBase >>> 0 && s.idtr.limit === cpu.idtrLimit
      && s.msrs !== undefined && s.msrs.tscOffsetHigh === cpu.tscOffsetHigh && s.msrs.tscOffsetLow === cpu.tscOffsetLow
      && s.msrs.sysenterCs === cpu.sysenterCs && s.msrs.sysenterEsp === cpu.sysenterEsp && s.msrs.sysenterEip === cpu.sysenterEip
      && s.debug !== undefined && s.debug.dr0 === cpu.debug[0] && s.debug.dr1 === cpu.debug[1] && s.debug.dr2 === cpu.debug[2]
      && s.debug.dr3 === cpu.debug[3] && s.debug.dr6 === cpu.debug[6] && s.debug.dr7 === cpu.debug[7];
  }

  setState(s: CommonState): void {
    const cpu = this.cpu;
    const regs = s.regs;
    [regs.eax, regs.ecx, regs.edx, regs.ebx, regs.esp, regs.ebp, regs.esi, regs.edi].forEach((v, i) => { cpu.r32[i] = v; });
    cpu.eip = cpu.next = s.eip >>> 0;
    writeEflags(cpu, s.eflags);
    SEGMENT_NAMES.forEach((name, i) => {
      const seg = s.segments[name];
      setSegmentCache(cpu, i, seg.selector, seg.base, seg.limit, seg.attributes, seg.valid);
    });
    cpu.cr0 = s.cr0 >>> 0; cpu.cr2 = s.cr2 >>> 0; cpu.cr3 = s.cr3 >>> 0; cpu.cr4 = s.cr4 >>> 0;
    cpu.gdtrBase = s.gdtr.base >>> 0; cpu.gdtrLimit = s.gdtr.limit;
    cpu.idtrBase = s.idtr.base >>> 0; cpu.idtrLimit = s.idtr.limit;
    cpu.ldtr = loadedSystemSegment(s.ldtr.selector, s.ldtr.base, s.ldtr.limit, s.ldtr.attributes, s.ldtr.valid);
    cpu.tr = loadedSystemSegment(s.tr.selector, s.tr.base, s.tr.limit, s.tr.attributes, s.tr.valid);
    cpu.halted = s.halted;
    cpu.instructionCount = s.instructionCount;
    const msrs = s.msrs ?? { tscOffsetHigh: 0, tscOffsetLow: 0, sysenterCs: 0, sysenterEsp: 0, sysenterEip: 0 };
    cpu.tscOffsetHigh = msrs.tscOffsetHigh >>> 0; cpu.tscOffsetLow = msrs.tscOffsetLow >>> 0;
    const dr = s.debug ?? { dr0: 0, dr1: 0, dr2: 0, dr3: 0, dr6: 0xffff0ff0, dr7: 0x400 };
    cpu.debug.set([dr.dr0, dr.dr1, dr.dr2, dr.dr3, 0, 0, dr.dr6, dr.dr7]);
    cpu.sysenterCs = msrs.sysenterCs >>> 0; cpu.sysenterEsp = msrs.sysenterEsp >>> 0; cpu.sysenterEip = msrs.sysenterEip >>> 0;
    cpu.interruptShadow = false;
    cpu.shutdownReason = null;
    flushTlb(cpu);
  }

  readPhysical(address: number, length: number): Uint8Array {
    const memory = this.ram();
    if (address >= 0 && address + length <= memory.size) return memory.bytes.slice(address, address + length);
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = memory.read8(address + i);
    return out;
  }

  viewPhysical(address: number, length: number): Uint8Array {
    const memory = this.ram();
    return address >= 0 && address + length <= memory.size ? memory.bytes.subarray(address, address + length) : this.readPhysical(address, length);
  }

  writePhysical(address: number, bytes: Uint8Array): void {
    const memory = this.ram();
    const end = Math.min(address + bytes.length, memory.size);
    if (end <= address) return;
    memory.bytes.set(bytes.subarray(0, end - address), address);
    for (let frame = address >>> 12; frame <= (end - 1) >>> 12; frame++) {
      const from = Math.max(address, frame * 0x1000), to = Math.min(end, (frame + 1) * 0x1000);
      if (memory.codePages[frame]) memory.onCodeWrite(from, to - from);
    }
  }

  private released = false;

  /** The machine's RAM; after release() it belongs to the next machine. */
  private ram(): Cpu['memory'] {
    if (this.released) throw new Error('impl: memory access after release()');
    return this.cpu.memory;
  }

  /** Hand the TLB and RAM on to the next machine (memory.ts recycleRam:
   * with `dirtyPages`, the caller vouches that the RAM is zero outside
   * those pages, and only they are zeroed). */
  release(dirtyPages: readonly number[] | null = null): void {
    if (this.released) return;
    this.released = true;
    flushTlb(this.cpu);
    recycleTlb(this.cpu.tlb, this.cpu.tlbFilled); // the next Cpu takes it
    recycleCodeSlots(this.cpu); // and its frames' decoded-instruction arrays
    recycleRam(this.cpu.memory.bytes, dirtyPages); // and its RAM, zeroed
  }

  step(): StepEvent {
    if (this.released) throw new Error('impl: step after release()');
    try {
      return step(this.cpu);
    } catch (e) {
      return unsupportedAsModelError(e);
    }
  }

  /** Replace EFLAGS alone (no TLB flush): lock-step uses it to copy the
   * model's choice for architecturally undefined flag bits. */
  setEflags(value: number): void {
    writeEflags(this.cpu, value);
  }

  /** Step until an event other than 'retired', or `limit` instructions. */
  run(limit: number): StepEvent {
    if (this.released) throw new Error('impl: run after release()');
    try {
      return run(this.cpu, limit);
    } catch (e) {
      return unsupportedAsModelError(e);
    }
  }

  /** run(), going on through the exceptions and interrupts it delivers:
   * stops only at another event (exit, halt, shutdown, a model error) or
   * after `limit` instructions (run.ts, `throughEvents`). */
  runThroughEvents(limit: number): StepEvent {
    if (this.released) throw new Error('impl: run after release()');
    try {
      return run(this.cpu, limit, true);
    } catch (e) {
      return unsupportedAsModelError(e);
    }
  }

  /** Translated-block counters (blocks.ts), for the bench report. */
  blockStats(): { compiled: number; runs: number; bailouts: number } {
    return { ...this.cpu.blockStats };
  }

  consoleOutput(): Uint8Array {
    return Uint8Array.from(this.cpu.devices.console);
  }
}

function segment(cpu: Cpu, i: number): SegmentRegister {
  return { selector: cpu.segSelector[i], base: cpu.segBase[i], limit: cpu.segLimit[i], attributes: cpu.segAttributes[i], valid: cpu.segValid[i] };
}

function segmentIs(cpu: Cpu, i: number, s: SegmentRegister): boolean {
  return s.selector === cpu.segSelector[i] && s.base === cpu.segBase[i] && s.limit === cpu.segLimit[i]
    && s.attributes === cpu.segAttributes[i] && s.valid === cpu.segValid[i];
}

function systemSegmentIs(mine: Cpu['tr'], s: SegmentRegister): boolean {
  return s.selector === mine.selector && s.base === mine.base && s.limit === mine.limit && s.attributes === mine.attributes && s.valid === mine.valid;
}

function systemSegment(s: Cpu['tr']): SegmentRegister {
  return { selector: s.selector, base: s.base, limit: s.limit, attributes: s.attributes, valid: s.valid };
}

/** Something outside the machine's subset met while delivering an event
 * (a task gate, a 16-bit gate) ends the step as a model error, as it does
 * when met while executing an instruction. (No closure per call: tsx names
 * every closure it creates, a property definition each time.) */
function unsupportedAsModelError(e: unknown): StepEvent {
  if (e instanceof Unsupported) return { kind: 'model-error', message: e.message };
  throw e;
}
