// Delivering an interrupt or exception through the IDT (SDM vol. 3 §6.12):
// interrupt and trap gates, to the same ring or an inner one with a stack
// switch through the TSS, and the double-fault rules around it (§6.15,
// table 6-5). Task gates are not supported (a model error, see CHOICES.md).
import { type Cpu, CS, SS } from './cpu';
import { CpuFault, DF, GP, NP, PF, Unsupported, fault, isContributory } from './faults';
import { IF, NT, RF, TF, VM, readEflags, writeEflags } from './flags';
import { readSystem } from './access';
import { ATTR_P, attributesOf, baseOf, dplOf, isCode, isConforming, limitOf, loadFromDescriptor, readDescriptor, setAccessed } from './segmentation';
import { undoWalks } from './paging';
import { checkRingStackSegment, pushFrame, ringStack, stackRange } from './stack-switch';

/** Where the event comes from: it decides the EXT bit and the gate DPL check. */
export const enum Source { Exception, Software, External }

/** 1 for the fault-class exceptions: #DE #BR #UD #NM #TS #NP #SS #GP #PF #MF #AC. */
const FAULT_CLASS = Uint8Array.from({ length: 32 }, (_, v) => ([0, 5, 6, 7, 10, 11, 12, 13, 14, 16, 17].includes(v) ? 1 : 0));

export function deliver(cpu: Cpu, vector: number, errorCode: number | null, source: Source, returnEip: number): void {
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
  const eflags = readEflags(cpu);
  const pushedFlags = source === Source.Exception && FAULT_CLASS[vector] === 1 ? (eflags | RF) >>> 0 : eflags;
  const oldCs = cpu.segSelector[CS];
  const tail = errorCode === null ? [] : [errorCode];
  if (!isConforming(a) && dpl < cpu.cpl) {
    // Inner ring: switch to the ring's stack from the TSS, then push the old one.
    const { ss, esp } = ringStack(cpu, dpl, ext);
    const stack = checkRingStackSegment(cpu, ss, dpl, ext);
    // The handler's offset is checked after the new stack, before any push (PRIV.EIP.1).
    if (offset > limitOf(target)) fault(GP, ext);
    const values = [cpu.segSelector[SS], cpu.r32[4] >>> 0, pushedFlags, oldCs, returnEip, ...tail];
    const newEsp = pushFrame(cpu, baseOf(stack), stackRange(limitOf(stack), attributesOf(stack.high)), esp, values, 4, dpl,
      (ss & 0xfffc) | ext);
    setAccessed(cpu, stack);
    loadFromDescriptor(cpu, SS, (ss & 0xfffc) | dpl, stack);
    cpu.r32[4] = newEsp;
  } else {
    const values = [pushedFlags, oldCs, returnEip, ...tail];
    if (!cpu.segValid[SS]) fault(GP, 0);
    if (offset > limitOf(target)) fault(GP, ext);
    cpu.r32[4] = pushFrame(cpu, cpu.segBase[SS], [cpu.segLow[SS], cpu.segHigh[SS]], cpu.r32[4] >>> 0, values, 4,
      cpu.cpl, ext);
  }
  setAccessed(cpu, target);
  const newCpl = isConforming(a) ? cpu.cpl : dpl;
  loadFromDescriptor(cpu, CS, (selector & 0xfffc) | newCpl, target);
  cpu.eip = cpu.next = offset;
  let newFlags = eflags & ~(TF | NT | RF | VM);
  if (type === 0x0e) newFlags &= ~IF; // an interrupt gate also clears IF
  writeEflags(cpu, newFlags);
  cpu.halted = false;
}

export type DeliveryOutcome = { kind: 'delivered'; vector: number; errorCode: number | null } | { kind: 'shutdown'; reason: string };

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
    if (cpu.undoLog.length !== 0) cpu.undoLog.length = 0;
    cpu.logWalks = true;
    try {
      deliver(cpu, vector, errorCode, source, returnEip);
      cpu.logWalks = false;
      return { kind: 'delivered', vector, errorCode };
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
