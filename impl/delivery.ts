// Delivering an interrupt or exception through the IDT (SDM vol. 3 §6.12):
// interrupt and trap gates, to the same ring or an inner one with a stack
// switch through the TSS, and the double-fault rules around it (§6.15,
// table 6-5). Task gates are not supported (a model error, see CHOICES.md).
import { type Cpu, type GateMemo, type RingEntry, CS, SS } from './cpu';
import { CpuFault, DF, GP, NP, PF, Unsupported, fault, isContributory } from './faults';
import { IF, NT, RF, TF, VM, readEflags, writeEflags } from './flags';
import { readSystem } from './access';
import {
  type Descriptor, ATTR_ACCESSED, ATTR_P, attributesOf, baseOf, dplOf, isCode, isConforming, limitOf, loadFromDescriptor,
  loadSegmentCache, readDescriptor, segmentCache, setAccessed,
} from './segmentation';
import { undoWalks } from './paging';
import { readsHold, rememberReads } from './remembered-reads';
import { mutated } from './mutants';
import { checkRingStackSegment, pushFrame, pushRingFrame, ringStack, stackHigh, stackLow } from './stack-switch';

/** Where the event comes from: it decides the EXT bit and the gate DPL check. */
export const enum Source { Exception, Software, External }

/** 1 for the fault-class exceptions: #DE #BR #UD #NM #TS #NP #SS #GP #PF #MF #AC. */
const FAULT_CLASS = Uint8Array.from({ length: 32 }, (_, v) => ([0, 5, 6, 7, 10, 11, 12, 13, 14, 16, 17].includes(v) ? 1 : 0));

export function deliver(cpu: Cpu, vector: number, errorCode: number | null, source: Source, returnEip: number): void {
  const memo = cpu.gateMemos[vector];
  if (memo !== undefined && memoHolds(cpu, memo, source)) {
    enterInnerRing(cpu, memo.entry, null, null, source === Source.Software ? 0 : 1, errorCode,
      source === Source.Exception && FAULT_CLASS[vector] === 1, returnEip);
    return;
  }
  const ext = source === Source.Software ? 0 : 1;
  const idtCode = vector * 8 + 2 + ext;
  if (vector * 8 + 7 > cpu.idtrLimit) fault(GP, idtCode);
  const gateAddress = (cpu.idtrBase + vector * 8) >>> 0;
  const low = readSystem(cpu, gateAddress, 4), high = readSystem(cpu, (gateAddress + 4) >>> 0, 4);
  const type = (high >>> 8) & 0x1f; // with the S bit: a gate has it clear
  if (type !== 0x05 && type !== 0x06 && type !== 0x07 && type !== 0x0e && type !== 0x0f) fault(GP, idtCode);
  const gateDpl = (high >>> 13) & 3;
  if (source === Source.Software && gateDpl < cpu.cpl) fault(GP, idtCode);
  if (!(high & 0x8000)) fault(NP, idtCode);
  // Task gates and 16-bit gates pass the checks above, then are outside this
  // machine (as in the model, EXC.IDT.6): the step reports a model error.
  if (type === 0x05) throw new Unsupported(`task gate in IDT entry ${vector}`);
  if (type !== 0x0e && type !== 0x0f) throw new Unsupported(`16-bit gate in IDT entry ${vector}`);

  const selector = low >>> 16, offset = ((high & 0xffff0000) | (low & 0xffff)) >>> 0;
  if ((selector & 0xfffc) === 0) fault(GP, ext);
  const target = readDescriptor(cpu, selector);
  const selectorCode = (selector & 0xfffc) | ext;
  if (target === null) fault(GP, selectorCode);
  const a = attributesOf(target.high), dpl = dplOf(a);
  if (!isCode(a) || dpl > cpu.cpl) fault(GP, selectorCode);
  if (!(a & ATTR_P)) fault(NP, selectorCode);
  if (!(a & 0x4000)) throw new Unsupported(`vector ${vector}: handler in a 16-bit code segment`);

  // A fault pushes RF = 1 so the restarted instruction does not re-trigger an
  // instruction breakpoint (SDM vol. 3 §17.3.1.1); traps (the single-step
  // #DB), aborts (#DF) and interrupts push RF as is.
  const faultClass = source === Source.Exception && FAULT_CLASS[vector] === 1;
  if (!isConforming(a) && dpl < cpu.cpl) {
    // Inner ring: switch to the ring's stack from the TSS, then push the old one.
    const { ss, esp } = ringStack(cpu, dpl, ext);
    const stack = checkRingStackSegment(cpu, ss, dpl, ext);
    // The handler's offset is checked after the new stack, before any push (PRIV.EIP.1).
    if (offset > limitOf(target)) fault(GP, ext);
    const accessed = (target.high & stack.high & 0x100) !== 0, cpl = cpu.cpl;
    // The caches as loaded after setAccessed: the accessed bit set.
    const stackLimit = limitOf(stack), ssAttributes = attributesOf(stack.high) | ATTR_ACCESSED;
    const entry: RingEntry = {
      type, selector, offset, ring: dpl, ss, esp,
      stackBase: baseOf(stack), stackLow: stackLow(stackLimit, ssAttributes), stackHigh: stackHigh(stackLimit, ssAttributes),
      ssCache: segmentCache((ss & 0xfffc) | dpl, baseOf(stack), stackLimit, ssAttributes),
      csCache: segmentCache((selector & 0xfffc) | dpl, baseOf(target), limitOf(target), a | ATTR_ACCESSED),
    };
    enterInnerRing(cpu, entry, stack, target, ext, errorCode, faultClass, returnEip);
    if (accessed && (selector & 4) === 0 && (ss & 4) === 0) {
      remember(cpu, vector, source, cpl, gateAddress, target, dpl, stack, [low, high, target.low, target.high, esp, ss, stack.low, stack.high], entry);
    }
    return;
  }
  const eflags = readEflags(cpu);
  const pushedFlags = faultClass ? (eflags | RF) >>> 0 : eflags;
  const oldCs = cpu.segSelector[CS];
  {
    const values = errorCode === null ? [pushedFlags, oldCs, returnEip] : [pushedFlags, oldCs, returnEip, errorCode];
    if (!cpu.segValid[SS]) fault(GP, 0);
    if (offset > limitOf(target)) fault(GP, ext);
    cpu.r32[4] = pushFrame(cpu, cpu.segBase[SS], cpu.segLow[SS], cpu.segHigh[SS], cpu.r32[4] >>> 0, values, 4,
      cpu.cpl, ext);
  }
  jumpToHandler(cpu, type, selector, isConforming(a) ? cpu.cpl : dpl, target, offset, eflags);
}

/** The inner-ring delivery once every check before the pushes has passed:
 * push SS, ESP, EFLAGS, CS, EIP (and the error code) on the ring's stack,
 * load SS and CS, jump to the handler. The accessed bits of `stack` and
 * `target` are set; a remembered delivery passes null for both (their
 * bits were set when it was remembered, and its words still hold them). */
function enterInnerRing(cpu: Cpu, entry: RingEntry, stack: Descriptor | null, target: Descriptor | null, ext: number,
  errorCode: number | null, faultClass: boolean, returnEip: number): void {
  const eflags = readEflags(cpu);
  const newEsp = pushRingFrame(cpu, entry.stackBase, entry.stackLow, entry.stackHigh, entry.esp, entry.ring, (entry.ss & 0xfffc) | ext,
    cpu.segSelector[SS], cpu.r32[4] >>> 0, faultClass ? (eflags | RF) >>> 0 : eflags, cpu.segSelector[CS], returnEip, errorCode);
  if (stack !== null) setAccessed(cpu, stack);
  loadSegmentCache(cpu, SS, entry.ssCache);
  cpu.r32[4] = newEsp;
  if (target !== null) setAccessed(cpu, target);
  loadSegmentCache(cpu, CS, entry.csCache);
  enterHandler(cpu, entry.type, entry.offset, eflags);
}

/** The last part of every delivery: load CS at `cpl` from the handler's
 * descriptor, jump to it (enterHandler). */
function jumpToHandler(cpu: Cpu, type: number, selector: number, cpl: number, target: Descriptor, offset: number, eflags: number): void {
  setAccessed(cpu, target);
  loadFromDescriptor(cpu, CS, (selector & 0xfffc) | cpl, target);
  enterHandler(cpu, type, offset, eflags);
}

/** EIP at the handler, and TF, NT, RF and VM (and IF through an interrupt
 * gate) cleared in the EFLAGS read before the pushes. */
function enterHandler(cpu: Cpu, type: number, offset: number, eflags: number): void {
  cpu.eip = cpu.next = offset;
  let newFlags = eflags & ~(TF | NT | RF | VM);
  if (type === 0x0e) newFlags &= ~IF; // an interrupt gate also clears IF
  writeEflags(cpu, newFlags);
  cpu.halted = false;
}

/** The sizes of a memo's eight reads (the TSS's SS is a word). */
const MEMO_SIZES = [4, 4, 4, 4, 4, 2, 4, 4];

/** Keep what an inner-ring delivery read (GateMemo), if its reads can be remembered (remembered-reads.ts). */
function remember(cpu: Cpu, vector: number, source: Source, cpl: number, gateAddress: number, target: Descriptor,
  ring: number, stack: Descriptor, words: number[], entry: RingEntry): void {
  const tss = (cpu.tr.base + 4 + 8 * ring) >>> 0;
  const linear = [gateAddress, (gateAddress + 4) >>> 0, target.address, (target.address + 4) >>> 0, tss, (tss + 4) >>> 0,
    stack.address, (stack.address + 4) >>> 0];
  const reads = rememberReads(cpu, linear, MEMO_SIZES, words);
  if (reads === null) return;
  cpu.gateMemos[vector] = {
    cpl, software: source === Source.Software,
    idtrBase: cpu.idtrBase, idtrLimit: cpu.idtrLimit, gdtrBase: cpu.gdtrBase, gdtrLimit: cpu.gdtrLimit,
    trBase: cpu.tr.base, trLimit: cpu.tr.limit, trAttributes: cpu.tr.attributes, trValid: cpu.tr.valid,
    reads, entry,
  };
}

/**
 * Whether the generic path would find exactly what `memo` holds: the same
 * state, and its eight reads made again through the same TLB entries to
 * bytes not written since (readsHold). Then its checks would pass again
 * and its reads change nothing, so delivery may go straight to the pushes.
 */
function memoHolds(cpu: Cpu, memo: GateMemo, source: Source): boolean {
  if (memo.cpl !== cpu.cpl || memo.software !== (source === Source.Software)
    || memo.idtrBase !== cpu.idtrBase || memo.idtrLimit !== cpu.idtrLimit || memo.gdtrBase !== cpu.gdtrBase
    || memo.gdtrLimit !== cpu.gdtrLimit) return false;
  const tr = cpu.tr;
  if (memo.trBase !== tr.base || memo.trLimit !== tr.limit || memo.trAttributes !== tr.attributes || memo.trValid !== tr.valid) return false;
  return readsHold(cpu, memo.reads) || mutated('gate-memo-unchecked');
}

export type DeliveryOutcome = { kind: 'delivered'; vector: number; errorCode: number | null } | { kind: 'shutdown'; reason: string };

/** The outcome of a delivery, one frozen object per vector and small error
 * code (no error code, or 0..31: a page fault's are 0..7) rather than one
 * per delivery. */
const OUTCOMES: (DeliveryOutcome | null)[] = new Array<DeliveryOutcome | null>(256 * 33).fill(null);
function deliveredOutcome(vector: number, errorCode: number | null): DeliveryOutcome {
  if (errorCode !== null && (errorCode < 0 || errorCode > 31)) return { kind: 'delivered', vector, errorCode };
  const key = vector * 33 + (errorCode === null ? 32 : errorCode);
  return OUTCOMES[key] ??= Object.freeze({ kind: 'delivered', vector, errorCode });
}

/**
 * Deliver a processor exception (or an external interrupt when `source` is
 * External), applying the double-fault rules to faults raised on the way:
 * contributory after contributory, or anything but a benign exception after a
 * page fault, becomes #DF; a fault while delivering #DF shuts the processor
 * down; otherwise the new fault is delivered instead.
 */
export function deliverException(cpu: Cpu, vector: number, errorCode: number | null, source: Source,
  returnEip: number, address = 0): DeliveryOutcome {
  // CR2 takes the faulting address when a #PF is delivered.
  if (vector === PF) cpu.cr2 = address >>> 0;
  for (let attempt = 0; attempt < 8; attempt++) {
    cpu.undoTop = 0;
    cpu.logWalks = true;
    try {
      deliver(cpu, vector, errorCode, source, returnEip);
      cpu.logWalks = false;
      return deliveredOutcome(vector, errorCode);
    } catch (e) {
      cpu.logWalks = false;
      undoWalks(cpu);
      if (!(e instanceof CpuFault)) throw e;
      const second = e.vector;
      // A page fault loads CR2 even when it ends in a triple fault (as the model and QEMU do).
      if (second === PF) cpu.cr2 = e.address >>> 0;
      if (vector === DF) return { kind: 'shutdown', reason: `triple fault: #${second} while delivering #DF` };
      if ((isContributory(vector) && isContributory(second)) || (vector === PF && (isContributory(second) || second === PF))) {
        vector = DF; errorCode = 0;
      } else {
        vector = second; errorCode = e.errorCode;
      }
      source = Source.Exception;
      returnEip = cpu.eip;
    }
  }
  return { kind: 'shutdown', reason: 'exceptions kept faulting during delivery' };
}
