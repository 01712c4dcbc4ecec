// Segment registers as operands (MOV, PUSH, POP), and the descriptor probes
// LAR, LSL, VERR, VERW.
import { SEGMENT_NAMES, type Instruction, type SegmentName } from '../../isa/ast';
import { update, type MachineState } from '../state';
import type { Handler, Outcome, Result } from '../outcome';
import { ud } from '../outcome';
import { cpl, effectiveAddress, pop, push, readMemory, readOperandForWrite, stackPointer, withStackPointer, writeMemory, writeOperand, writeRegister } from '../context';
import { fetchDescriptor, isCode, isConforming, isData, isReadableCode, isWritableData, parseDescriptor, type SegmentDescriptor } from '../descriptors';
import { loadDataSegment } from '../segmentation';
import { withFlags, ZF } from '../eflags';
import { done, next, operand, readSelector } from './common';

const sregName = (reg: number) => SEGMENT_NAMES[reg]!;

/** [SEG.MOV.1] MOV to a segment register loads it with all checks
 * (segmentation.ts); MOV to CS is #UD. MOV from a segment register to a
 * 32-bit register zero-extends; to memory it writes 16 bits. */
export const moveSegment: Handler = (state, instr, nextEip) => {
  const [dst, src] = [operand(instr, 0), operand(instr, 1)];
  if (dst.kind === 'sreg') {
    const name = sregName(dst.reg);
    if (name === 'cs') return ud('SEG.MOV.1');
    const sel = readSelector(state, instr, src);
    if (sel.kind !== 'ok') return sel;
    return loaded(loadDataSegment(sel.value.state, name, sel.value.value), name, nextEip);
  }
  if (src.kind !== 'sreg') throw new Error('model bug: MOV sreg form');
  const selector = state.segments[sregName(src.reg)].selector;
  if (dst.kind === 'reg') return next(writeRegister(state, dst.size, dst.reg, selector), nextEip);
  if (dst.kind !== 'mem') throw new Error('model bug: MOV from sreg destination');
  const { segment, offset } = effectiveAddress(state, instr, dst);
  return done(writeMemory(state, segment, offset, 16, selector), nextEip);
};

/** [SEG.PUSH.1] PUSH sreg with a 32-bit operand size moves ESP by 4 but
 * writes only the low 16 bits, leaving the upper half of the slot as it was
 * (the behaviour the manual gives for recent processors). */
export const pushSegment: Handler = (state, instr, nextEip) => {
  const selector = state.segments[sregName(operand(instr, 0).kind === 'sreg' ? (operand(instr, 0) as { reg: number }).reg : 0)].selector;
  if (instr.operandSize === 16) return done(push(state, selector, 16), nextEip);
  const sp = (stackPointer(state) - 4) >>> 0;
  const written = writeMemory(state, 'ss', sp, 16, selector);
  if (written.kind !== 'ok') return written;
  return next(withStackPointer(written.value, sp), nextEip);
};

/** [SEG.POP.1] POP sreg pops a slot of the operand size and loads its low 16
 * bits with all checks; on a fault ESP is unchanged. POP CS does not exist (#UD). */
export const popSegment: Handler = (state, instr, nextEip) => {
  const op = operand(instr, 0);
  if (op.kind !== 'sreg') throw new Error('model bug: POP sreg form');
  const name = sregName(op.reg);
  if (name === 'cs') return ud('SEG.POP.1');
  const popped = pop(state, instr.operandSize);
  if (popped.kind !== 'ok') return popped;
  return loaded(loadDataSegment(popped.value.state, name, popped.value.value & 0xffff), name, nextEip);
};

/** [EXC.SHADOW.1] A MOV or POP that loaded SS leaves the interrupt shadow
 * set: no external interrupt at the boundary after it. */
function loaded(result: Result<MachineState>, name: SegmentName, nextEip: number): Outcome {
  if (result.kind !== 'ok' || name !== 'ss') return done(result, nextEip);
  return next(update(result.value, { interruptShadow: true }), nextEip);
}

/** [EXC.SHADOW.2] MOV SS and POP SS: the instructions after which the
 * single-step trap is not taken. */
export function loadsStackSegment(instr: Instruction): boolean {
  if (instr.mnemonic !== 'mov' && instr.mnemonic !== 'pop') return false;
  const destination = instr.operands[0];
  return destination !== undefined && destination.kind === 'sreg' && sregName(destination.reg) === 'ss';
}

/**
 * [SEG.PROBE.1] LAR, LSL, VERR and VERW never fault for a bad selector:
 * they set ZF = 1 when the descriptor is within its table, of a type they
 * accept, and visible at CPL and RPL (DPL >= CPL and DPL >= RPL, skipped
 * for conforming code); otherwise ZF = 0 and the destination is unchanged.
 * Other flags are unchanged.
 */
function probe(accept: (d: SegmentDescriptor) => boolean, onSuccess: (state: MachineState, d: SegmentDescriptor, high: number) => MachineState): Handler {
  return (state, instr, nextEip) => {
    const src = operand(instr, instr.operands.length - 1);
    const sel = readSelector(state, instr, src);
    if (sel.kind !== 'ok') return sel;
    const selector = sel.value.value;
    const s = sel.value.state;
    const fail = next(withFlags(s, { written: ZF, values: 0 }), nextEip);
    if ((selector & 0xfffc) === 0) return fail;
    const fetched = fetchDescriptor(s, selector);
    if (fetched.kind === 'fault' && fetched.vector === 13) return fail; // outside the table
    if (fetched.kind !== 'ok') return fetched; // a page fault reading the table is real
    const d = parseDescriptor(fetched.value.low, fetched.value.high);
    // [SEG.PROBE.1] The descriptor was read through paging whatever the
    // answer: the accessed bits that read set stay set.
    const refused = next(withFlags(fetched.value.state, { written: ZF, values: 0 }), nextEip);
    if (!accept(d)) return refused;
    if (!isConforming(d) && (d.dpl < cpl(state) || d.dpl < (selector & 3))) return refused;
    return next(withFlags(onSuccess(fetched.value.state, d, fetched.value.high), { written: ZF, values: ZF }), nextEip);
  };
}

/** [SEG.PROBE.2] LAR accepts code, data, LDT, TSS (available and busy, 16
 * and 32 bit), call gates and task gates; LSL the same minus the gates. */
const LAR_SYSTEM_TYPES = [1, 2, 3, 4, 5, 9, 0xb, 0xc];
const LSL_SYSTEM_TYPES = [1, 2, 3, 9, 0xb];

const lar: Handler = (state, instr, nextEip) => {
  const dst = operand(instr, 0);
  if (dst.kind !== 'reg') throw new Error('model bug: LAR destination');
  // [SEG.PROBE.3] LAR loads the descriptor's high dword masked with
  // 0x00F0FF00 (0xFF00 for a 16-bit destination): limit bits 19..16 read as 0.
  return probe(
    (d) => d.codeOrData || LAR_SYSTEM_TYPES.includes(d.type),
    (s, _d, high) => writeRegister(s, dst.size, dst.reg, dst.size === 16 ? high & 0xff00 : high & 0x00f0ff00),
  )(state, instr, nextEip);
};

const lsl: Handler = (state, instr, nextEip) => {
  const dst = operand(instr, 0);
  if (dst.kind !== 'reg') throw new Error('model bug: LSL destination');
  // [SEG.PROBE.4] LSL loads the byte-granular limit (scaled by G).
  return probe(
    (d) => d.codeOrData || LSL_SYSTEM_TYPES.includes(d.type),
    (s, d) => writeRegister(s, dst.size, dst.reg, d.limit),
  )(state, instr, nextEip);
};

/** [SEG.PROBE.5] VERR accepts data and readable code; VERW writable data only. */
const verr = probe((d) => isData(d) || isReadableCode(d), (s) => s);
const verw = probe((d) => isWritableData(d) && !isCode(d), (s) => s);

/**
 * [SEG.FARPTR.1] LDS, LES, LFS, LGS and LSS read a far pointer from memory,
 * the offset (operand size) first and the 16-bit selector after it, load the
 * segment register with every check of a MOV to it (SEG.LOAD.1 to .7, the SS
 * rules for LSS), and only then write the offset into the register. A fault
 * in either read or in the load leaves every register as it was. Unlike MOV
 * SS, LSS does not hold off interrupts for one instruction.
 */
const loadFarPointer = (name: 'ds' | 'es' | 'fs' | 'gs' | 'ss'): Handler => (state, instr, nextEip) => {
  const [dest, source] = [operand(instr, 0), operand(instr, 1)];
  if (source.kind !== 'mem' || dest.kind !== 'reg') return ud('ENC.UD.2');
  const size = instr.operandSize;
  const { segment, offset } = effectiveAddress(state, instr, source);
  const pointerOffset = readMemory(state, segment, offset, size);
  if (pointerOffset.kind !== 'ok') return pointerOffset;
  const selector = readMemory(pointerOffset.value.state, segment, (offset + size / 8) >>> 0, 16);
  if (selector.kind !== 'ok') return selector;
  const loaded = loadDataSegment(selector.value.state, name, selector.value.value);
  if (loaded.kind !== 'ok') return loaded;
  return next(writeRegister(loaded.value, size, dest.reg, pointerOffset.value.value), nextEip);
};

/**
 * [SEG.ARPL.1] ARPL raises the RPL of the destination selector (16-bit r/m)
 * to the RPL of the source register: if the destination's RPL is lower, its
 * low two bits get the source's and ZF = 1; otherwise nothing is written and
 * ZF = 0. No other flag changes. A memory destination is checked for writing
 * even when nothing is written: the manual is silent, and we follow Bochs,
 * which reads it as a read-modify-write operand.
 */
const arpl: Handler = (state, instr, nextEip) => {
  const [dest, source] = [operand(instr, 0), operand(instr, 1)];
  if (source.kind !== 'reg') throw new Error('model bug: ARPL source');
  const d = readOperandForWrite(state, instr, dest);
  if (d.kind !== 'ok') return d;
  const requested = state.regs[source.reg]! & 3;
  const selector = d.value.value & 0xffff;
  if ((selector & 3) >= requested) return next(withFlags(d.value.state, { written: ZF, values: 0 }), nextEip);
  const written = writeOperand(d.value.state, instr, dest, (selector & ~3) | requested);
  if (written.kind !== 'ok') return written;
  return next(withFlags(written.value, { written: ZF, values: ZF }), nextEip);
};

export const segmentHandlers: Record<string, Handler> = {
  lar, lsl, verr, verw, arpl,
  lds: loadFarPointer('ds'), les: loadFarPointer('es'), lfs: loadFarPointer('fs'), lgs: loadFarPointer('gs'), lss: loadFarPointer('ss'),
};
