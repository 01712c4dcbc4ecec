// Far JMP, far CALL (directly or through a call gate, with a stack switch
// and parameter copy when the gate leads inward), far RET and IRET, to the
// same ring or an outer one (SDM vol. 3 §5.8, and the JMP/CALL/RET/IRET
// pseudo-code in vol. 2). Task switches are not part of this machine.
import { type Cpu, type Decoded, type IretMemo, CS, SS } from '../cpu';
import { fault, GP, NP, Unsupported } from '../faults';
import { ARITH, IF, IOPL, NT, VM, readEflags, writeEflags, SUPPORTED } from '../flags';
import { quietStackRead, readMemory } from '../access';
import { mutated } from '../mutants';
import { readsHold, rememberReads } from '../remembered-reads';
import { effectiveOffset } from '../operands';
import {
  ATTR_DB, ATTR_P, type Descriptor, attributesOf, baseOf, dplOf, isCode, isConforming, limitOf, loadFromDescriptor,
  loadSegmentCache, nullInaccessibleSegments, readDescriptor, segmentCache, setAccessed,
} from '../segmentation';
import { checkReturnStackSegment, checkRingStackSegment, pushFrame, ringStack, stackRange } from '../stack-switch';

const CALL_GATE = 0x0c;

/** JMP ptr16:32 (imm = offset, imm2 = selector) and CALL ptr16:32 (variant 1). */
export function farDirect(cpu: Cpu, d: Decoded): void {
  farTransfer(cpu, d, d.imm2, d.imm, d.variant === 1);
}

/** JMP/CALL m16:32 (group 5 /5 and /3). */
export function farIndirect(cpu: Cpu, d: Decoded): void {
  if (d.mod === 3) fault(6);
  const at = effectiveOffset(cpu, d);
  const offset = readMemory(cpu, d.segment, at, d.size);
  const selector = readMemory(cpu, d.segment, (at + d.size) >>> 0, 2);
  farTransfer(cpu, d, selector, offset, d.variant === 1);
}

function codeDescriptor(cpu: Cpu, selector: number): Descriptor {
  if ((selector & 0xfffc) === 0) fault(GP, 0);
  const desc = readDescriptor(cpu, selector);
  if (desc === null) fault(GP, selector & 0xfffc);
  return desc;
}

function farTransfer(cpu: Cpu, d: Decoded, selector: number, offset: number, isCall: boolean): void {
  const size = d.size;
  if (size === 2) offset &= 0xffff;
  const desc = codeDescriptor(cpu, selector);
  const a = attributesOf(desc.high), code = selector & 0xfffc;
  if (a & 0x10) {
    if (!isCode(a)) fault(GP, code);
    if (isConforming(a) ? dplOf(a) > cpu.cpl : (selector & 3) > cpu.cpl || dplOf(a) !== cpu.cpl) fault(GP, code);
    if (!(a & ATTR_P)) fault(NP, code);
    if (offset > limitOf(desc)) fault(GP, 0);
    if (isCall) pushReturnAddress(cpu, size);
    setAccessed(cpu, desc);
    loadFromDescriptor(cpu, CS, (selector & 0xfffc) | cpu.cpl, desc);
    cpu.next = offset;
    return;
  }
  const type = a & 0x1f;
  if (type === 0x05 || type === 0x09 || type === 0x01) throw new Unsupported('task switch through far JMP/CALL');
  if (type !== CALL_GATE) fault(GP, code);
  // Call gate: the gate must be reachable from CPL and RPL.
  const gateDpl = dplOf(a);
  if (gateDpl < cpu.cpl || gateDpl < (selector & 3)) fault(GP, code);
  if (!(a & ATTR_P)) fault(NP, code);
  const targetSelector = desc.low >>> 16;
  const targetOffset = ((desc.high & 0xffff0000) | (desc.low & 0xffff)) >>> 0;
  const target = codeDescriptor(cpu, targetSelector);
  const ta = attributesOf(target.high), targetCode = targetSelector & 0xfffc, dpl = dplOf(ta);
  if (!isCode(ta) || dpl > cpu.cpl) fault(GP, targetCode);
  if (!isCall && !isConforming(ta) && dpl !== cpu.cpl) fault(GP, targetCode);
  if (!(ta & ATTR_P)) fault(NP, targetCode);
  if (isCall && !isConforming(ta) && dpl < cpu.cpl) {
    callInward(cpu, target, targetSelector, targetOffset, dpl, desc.high & 0x1f);
    return;
  }
  if (targetOffset > limitOf(target)) fault(GP, 0);
  if (isCall) pushReturnAddress(cpu, 4);
  setAccessed(cpu, target);
  loadFromDescriptor(cpu, CS, targetCode | cpu.cpl, target);
  cpu.next = targetOffset;
}

function pushReturnAddress(cpu: Cpu, size: number): void {
  // CS is pushed zero-extended to the operand size (see CHOICES.md).
  cpu.r32[4] = pushFrame(cpu, cpu.segBase[SS], cpu.segLow[SS], cpu.segHigh[SS], cpu.r32[4] >>> 0,
    [cpu.segSelector[CS], cpu.next], size, cpu.cpl, 0);
}

/** CALL through a gate to an inner ring: new stack from the TSS, the old
 * SS:ESP and `count` parameters copied onto it, then CS:EIP. */
function callInward(cpu: Cpu, target: Descriptor, selector: number, offset: number, dpl: number, count: number): void {
  const { ss, esp } = ringStack(cpu, dpl, 0);
  const stack = checkRingStackSegment(cpu, ss, dpl, 0);
  // The new EIP is checked after the new stack, before any copy or push (PRIV.EIP.1).
  if (offset > limitOf(target)) fault(GP, 0);
  const oldEsp = cpu.r32[4] >>> 0;
  const parameters: number[] = [];
  for (let i = count - 1; i >= 0; i--) parameters.push(readMemory(cpu, SS, (oldEsp + 4 * i) >>> 0, 4));
  const values = [cpu.segSelector[SS], oldEsp, ...parameters, cpu.segSelector[CS], cpu.next];
  const [low, high] = stackRange(limitOf(stack), attributesOf(stack.high));
  const newEsp = pushFrame(cpu, baseOf(stack), low, high, esp, values, 4,
    dpl, ss & 0xfffc);
  setAccessed(cpu, stack);
  setAccessed(cpu, target);
  loadFromDescriptor(cpu, SS, (ss & 0xfffc) | dpl, stack);
  cpu.r32[4] = newEsp;
  loadFromDescriptor(cpu, CS, (selector & 0xfffc) | dpl, target);
  cpu.next = offset;
}

/** Checks on the CS a far RET or IRET returns to; returns its descriptor. */
function returnCodeDescriptor(cpu: Cpu, selector: number): Descriptor {
  const desc = codeDescriptor(cpu, selector);
  const a = attributesOf(desc.high), rpl = selector & 3, code = selector & 0xfffc;
  if (rpl < cpu.cpl) fault(GP, code);
  if (!isCode(a)) fault(GP, code);
  if (isConforming(a) ? dplOf(a) > rpl : dplOf(a) !== rpl) fault(GP, code);
  if (!(a & ATTR_P)) fault(NP, code);
  return desc;
}

/** RETF and RETF imm16 (imm = bytes of parameters to release). */
export function farReturn(cpu: Cpu, d: Decoded): void {
  const size = d.size, esp = cpu.r32[4] >>> 0;
  const offset = readMemory(cpu, SS, esp, size);
  const selector = readMemory(cpu, SS, (esp + size) >>> 0, size) & 0xffff;
  const desc = returnCodeDescriptor(cpu, selector);
  const rpl = selector & 3;
  if (rpl === cpu.cpl) {
    if (offset > limitOf(desc)) fault(GP, 0);
    setAccessed(cpu, desc); // [SEG.ACCESSED.1] a CS load by far RET marks the descriptor too
    loadFromDescriptor(cpu, CS, selector, desc);
    cpu.r32[4] = esp + 2 * size + d.imm;
    cpu.next = offset;
    return;
  }
  const outer = (esp + 2 * size + d.imm) >>> 0;
  const newEsp = readMemory(cpu, SS, outer, size);
  const newSs = readMemory(cpu, SS, (outer + size) >>> 0, size) & 0xffff;
  const stack = checkReturnStackSegment(cpu, newSs, rpl);
  if (offset > limitOf(desc)) fault(GP, 0);
  setAccessed(cpu, stack);
  setAccessed(cpu, desc); // [SEG.ACCESSED.1]
  loadFromDescriptor(cpu, CS, selector, desc);
  loadFromDescriptor(cpu, SS, newSs, stack);
  loadOuterStackPointer(cpu, attributesOf(stack.high), (outer + 2 * size) >>> 0, newEsp + d.imm);
  cpu.next = offset;
  nullInaccessibleSegments(cpu);
}

/**
 * After a return to an outer ring: ESP becomes the popped value when the new
 * SS is a 32-bit stack; for a 16-bit one (B clear) only SP does, the upper
 * half staying as it was after the pops, as in the model (SEG.STACK.1) and on
 * the hardware (what Linux's espfix works around). `popped` is ESP after the
 * pops (the old stack is 32-bit in impl).
 */
function loadOuterStackPointer(cpu: Cpu, stackAttributes: number, popped: number, value: number): void {
  cpu.r32[4] = stackAttributes & ATTR_DB ? value : (popped & 0xffff0000) | (value & 0xffff);
}

/** IRET: to the same ring, or to an outer ring popping SS:ESP too. EFLAGS
 * bits are restored as the CPL before the return allows: IOPL only at CPL 0,
 * IF only when CPL <= IOPL. A 32-bit IRET whose frame reads quietly and whose
 * selectors, state and descriptor words are those of the last one remembered
 * (IretMemo) skips the descriptor reads and checks: they would find the same
 * words, pass, and (accessed bits already set) write nothing. */
export function interruptReturn(cpu: Cpu, d: Decoded): void {
  const size = d.size, esp = cpu.r32[4] >>> 0;
  // EFLAGS before the return but for the arithmetic flags, which may be lazy
  // (flags.ts): IRET takes them from the frame whatever the CPL (they are in
  // `changeable` below), so they are not computed (writeEflags then drops
  // the record). Only arithmetic flags are ever lazy; if not, fold them.
  const current = (cpu.lazy & ~ARITH) === 0 ? (cpu.flags | 2) >>> 0 : readEflags(cpu);
  if (current & NT) throw new Unsupported('IRET with NT set (task return)');
  // The 32-bit frame is read at once when no read of it can fault or walk
  // (quietStackRead): EIP, CS and EFLAGS, with SS:ESP (`outer`) when the
  // remembered IRET returned to an outer ring, else SS:ESP below; otherwise
  // slot by slot, in order.
  const memo = cpu.iretMemo;
  const toOuter = size === 4 && memo !== null && memo.ssCache !== null;
  let outer = toOuter ? quietStackRead(cpu, esp, 20) : -1;
  const frame = outer >= 0 ? outer : size === 4 ? quietStackRead(cpu, esp, 12) : -1;
  const memory = cpu.memory;
  const offset = frame >= 0 ? memory.read32(frame) : readMemory(cpu, SS, esp, size);
  const selector = frame >= 0 ? memory.read16(frame + 4) : readMemory(cpu, SS, (esp + size) >>> 0, size) & 0xffff;
  let popped = frame >= 0 ? memory.read32(frame + 8) : readMemory(cpu, SS, (esp + 2 * size) >>> 0, size);
  // Read slot by slot (the stack's page had no TLB entry: the first IRET
  // after a CR3 write), the frame may read quietly now.
  if (toOuter && frame < 0) outer = quietStackRead(cpu, esp, 20);
  if (size === 2) popped = (current & 0xffff0000) | popped;
  if (popped & VM && cpu.cpl === 0) throw new Unsupported('IRET to virtual-8086 mode');
  let changeable = SUPPORTED & ~VM;
  if (cpu.cpl > 0) changeable &= ~IOPL;
  if (cpu.cpl > ((current & IOPL) >> 12)) changeable &= ~IF;
  const eflags = (current & ~changeable) | (popped & changeable);
  if (size === 4 && memo !== null && memo.cs === selector) {
    // The same CS selector at the same CPL (iretMemoHolds): a return to the
    // same ring when the remembered one was (no SS cache), else to the same
    // outer ring, with the same SS selector popped, read quietly (compared
    // first: the remembered reads of its descriptor may walk). The generic
    // path reads the frame's first three slots before any descriptor, and
    // SS:ESP (here read quietly: no fault, no walk) before the stack's.
    const ssCache = memo.ssCache;
    if (ssCache === null) {
      if (iretMemoHolds(cpu, memo)) {
        if (offset > memo.csCache.limit) fault(GP, 0);
        loadSegmentCache(cpu, CS, memo.csCache);
        cpu.r32[4] = esp + 12;
        writeEflags(cpu, eflags);
        cpu.next = offset;
        return;
      }
    } else if (outer >= 0 && memory.read16(outer + 16) === memo.ss && iretMemoHolds(cpu, memo)) {
      const newEsp = memory.read32(outer + 12);
      if (offset > memo.csCache.limit) fault(GP, 0);
      loadSegmentCache(cpu, CS, memo.csCache);
      if (!mutated('iret-outer-keeps-stack')) {
        loadSegmentCache(cpu, SS, ssCache);
        loadOuterStackPointer(cpu, ssCache.attributes, (esp + 20) >>> 0, newEsp);
      }
      nullInaccessibleSegments(cpu);
      writeEflags(cpu, eflags);
      cpu.next = offset;
      return;
    }
  }
  const desc = returnCodeDescriptor(cpu, selector);
  const rpl = selector & 3, cpl = cpu.cpl;
  if (rpl === cpu.cpl) {
    if (offset > limitOf(desc)) fault(GP, 0);
    setAccessed(cpu, desc); // [SEG.ACCESSED.1] a CS load by IRET marks the descriptor too
    loadFromDescriptor(cpu, CS, selector, desc);
    cpu.r32[4] = esp + 3 * size;
    if (size === 4) rememberIret(cpu, cpl, selector, desc, -1, null);
  } else {
    if (size === 4 && outer < 0) outer = quietStackRead(cpu, esp, 20);
    const newEsp = outer >= 0 ? memory.read32(outer + 12) : readMemory(cpu, SS, (esp + 3 * size) >>> 0, size);
    const newSs = outer >= 0 ? memory.read16(outer + 16) : readMemory(cpu, SS, (esp + 4 * size) >>> 0, size) & 0xffff;
    const stack = checkReturnStackSegment(cpu, newSs, rpl);
    if (offset > limitOf(desc)) fault(GP, 0);
    setAccessed(cpu, stack);
    setAccessed(cpu, desc); // [SEG.ACCESSED.1]
    loadFromDescriptor(cpu, CS, selector, desc);
    if (!mutated('iret-outer-keeps-stack')) {
      loadFromDescriptor(cpu, SS, newSs, stack);
      loadOuterStackPointer(cpu, attributesOf(stack.high), (esp + 5 * size) >>> 0, newEsp);
    }
    nullInaccessibleSegments(cpu);
    if (size === 4) rememberIret(cpu, cpl, selector, desc, newSs, stack);
  }
  writeEflags(cpu, eflags);
  cpu.next = offset;
}

/** Keep what a 32-bit IRET read and loaded (IretMemo), when its selectors
 * name GDT entries and its reads can be remembered (remembered-reads.ts). */
function rememberIret(cpu: Cpu, cpl: number, cs: number, code: Descriptor, ss: number, stack: Descriptor | null): void {
  if (cs & 4 || (ss >= 0 && ss & 4)) return;
  const linear = [code.address, (code.address + 4) >>> 0];
  const words = [code.low, code.high];
  if (stack !== null) { linear.push(stack.address, (stack.address + 4) >>> 0); words.push(stack.low, stack.high); }
  const reads = rememberReads(cpu, linear, DWORDS, words);
  if (reads === null) return;
  cpu.iretMemo = {
    cpl, gdtrBase: cpu.gdtrBase, gdtrLimit: cpu.gdtrLimit, cs, ss, reads,
    csCache: segmentCache(cs, baseOf(code), limitOf(code), attributesOf(code.high)),
    ssCache: stack === null ? null : segmentCache(ss, baseOf(stack), limitOf(stack), attributesOf(stack.high)),
  };
}
const DWORDS = [4, 4, 4, 4];

/**
 * Whether IRET's generic path would read exactly what `memo` holds: the same
 * CPL and GDTR, and its descriptor reads made again through the same TLB
 * entries to bytes not written since (readsHold). Then its checks pass again
 * and its accessed-bit writes write nothing. (The caller compares the selectors.)
 */
function iretMemoHolds(cpu: Cpu, memo: IretMemo): boolean {
  if (memo.cpl !== cpu.cpl || memo.gdtrBase !== cpu.gdtrBase || memo.gdtrLimit !== cpu.gdtrLimit) return false;
  return readsHold(cpu, memo.reads) || mutated('iret-memo-unchecked');
}
