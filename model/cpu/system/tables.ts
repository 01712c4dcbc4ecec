// Descriptor-table registers, control registers, and the small system
// instructions: LGDT LIDT LLDT LTR SGDT SIDT SLDT STR SMSW LMSW CLTS,
// MOV to/from CRn, INVLPG, CPUID, UD2, WBINVD.
import type { Instruction } from '../../isa/ast';
import type { MachineState } from '../state';
import { NULL_SEGMENT, update } from '../state';
import type { Handler, Result } from '../outcome';
import { fault, gp, ud, Vector } from '../outcome';
import { effectiveAddress, readMemory, readRegister, writeLinear, writeMemory, writeOperand, writeRegister } from '../context';
import { fetchDescriptor, loadedCache, parseDescriptor, SystemType } from '../descriptors';
import { CR0_PE, CR0_PG, CR0_TS, CR4_PSE } from '../paging';
import { emptyTlb, tlbInvalidate } from '../tlb';
import { done, next, operand, privileged, readSelector } from './common';

function memoryOperand(instr: Instruction) {
  const op = operand(instr, 0);
  if (op.kind !== 'mem') throw new Error(`model bug: ${instr.mnemonic} needs a memory operand`);
  return op;
}

/** [SYS.TABLE.1] LGDT/LIDT read a 16-bit limit then a 32-bit base (24 bits
 * with a 16-bit operand size). */
function loadTableRegister(which: 'gdtr' | 'idtr'): Handler {
  return privileged((state, instr, nextEip) => {
    const { segment, offset } = effectiveAddress(state, instr, memoryOperand(instr));
    const limit = readMemory(state, segment, offset, 16);
    if (limit.kind !== 'ok') return limit;
    const base = readMemory(limit.value.state, segment, (offset + 2) >>> 0, 32);
    if (base.kind !== 'ok') return base;
    const b = instr.operandSize === 16 ? base.value.value & 0xffffff : base.value.value;
    return next(update(base.value.state, { [which]: { base: b >>> 0, limit: limit.value.value } }), nextEip);
  });
}

/** [SYS.TABLE.2] SGDT/SIDT store the 16-bit limit and the full 32-bit base
 * whatever the operand size (the behaviour of current processors; the manual
 * gives older ones a 24-bit base). They are not privileged. */
function storeTableRegister(which: 'gdtr' | 'idtr'): Handler {
  return (state, instr, nextEip) => {
    const { segment, offset } = effectiveAddress(state, instr, memoryOperand(instr));
    const table = state[which];
    const limit = writeMemory(state, segment, offset, 16, table.limit);
    if (limit.kind !== 'ok') return limit;
    return done(writeMemory(limit.value, segment, (offset + 2) >>> 0, 32, table.base), nextEip);
  };
}

/** [SYS.STORE.1] SLDT, STR and SMSW to a 32-bit register zero-extend the
 * 16-bit value (SMSW r32 stores all of CR0, as current processors do); to
 * memory they write 16 bits. */
function storeWord(read: (state: MachineState) => number, fullWidth = false): Handler {
  return (state, instr, nextEip) => {
    const op = operand(instr, 0);
    if (op.kind === 'reg') {
      const value = op.size === 32 ? (fullWidth ? read(state) : read(state) & 0xffff) : read(state) & 0xffff;
      return next(writeRegister(state, op.size, op.reg, value), nextEip);
    }
    if (op.kind !== 'mem') throw new Error('model bug: store to a non-register, non-memory operand');
    const { segment, offset } = effectiveAddress(state, instr, op);
    return done(writeMemory(state, segment, offset, 16, read(state) & 0xffff), nextEip);
  };
}

/**
 * [SYS.LLDT.1] LLDT with a null selector leaves LDTR unusable. Otherwise the
 * selector must name the GDT (#GP(selector)), an LDT descriptor
 * (#GP(selector)) that is present (#NP(selector)).
 */
const lldt: Handler = privileged((state, instr, nextEip) => {
  const sel = readSelector(state, instr, operand(instr, 0));
  if (sel.kind !== 'ok') return sel;
  const selector = sel.value.value;
  const s = sel.value.state;
  if ((selector & 0xfffc) === 0) return next(update(s, { ldtr: { ...NULL_SEGMENT, selector } }), nextEip);
  if (selector & 4) return fault(Vector.GP, selector & 0xfffc, 'SYS.LLDT.1');
  const fetched = fetchDescriptor(s, selector);
  if (fetched.kind !== 'ok') return fetched;
  const d = parseDescriptor(fetched.value.low, fetched.value.high);
  if (d.codeOrData || d.type !== SystemType.LDT) return fault(Vector.GP, selector & 0xfffc, 'SYS.LLDT.1');
  if (!d.present) return fault(Vector.NP, selector & 0xfffc, 'SYS.LLDT.1');
  return next(update(fetched.value.state, { ldtr: loadedCache(selector, d) }), nextEip);
});

/**
 * [SYS.LTR.1] LTR needs a non-null (#GP(0)) GDT selector (#GP(selector))
 * naming an available 32-bit TSS (#GP(selector); a busy TSS too), present
 * (#NP(selector)); it marks the descriptor busy in memory. 16-bit TSSs are
 * outside our subset (model error).
 */
const ltr: Handler = privileged((state, instr, nextEip) => {
  const sel = readSelector(state, instr, operand(instr, 0));
  if (sel.kind !== 'ok') return sel;
  const selector = sel.value.value;
  if ((selector & 0xfffc) === 0) return gp(0, 'SYS.LTR.1');
  if (selector & 4) return fault(Vector.GP, selector & 0xfffc, 'SYS.LTR.1');
  const fetched = fetchDescriptor(sel.value.state, selector);
  if (fetched.kind !== 'ok') return fetched;
  const d = parseDescriptor(fetched.value.low, fetched.value.high);
  if (!d.codeOrData && d.type === SystemType.TSS16_AVAILABLE) return { kind: 'model-error', message: 'LTR of a 16-bit TSS is not supported' };
  if (d.codeOrData || d.type !== SystemType.TSS32_AVAILABLE) return fault(Vector.GP, selector & 0xfffc, 'SYS.LTR.1');
  if (!d.present) return fault(Vector.NP, selector & 0xfffc, 'SYS.LTR.1');
  const busyHigh = (fetched.value.high | 0x200) >>> 0;
  const marked = writeLinear(fetched.value.state, fetched.value.address + 4, 4, busyHigh, false);
  if (marked.kind !== 'ok') return marked;
  return next(update(marked.value, { tr: loadedCache(selector, parseDescriptor(fetched.value.low, busyHigh)) }), nextEip);
});

/** [SYS.LMSW.1] LMSW loads CR0 bits 0..3 (PE, MP, EM, TS) from its operand
 * but cannot clear PE. */
const lmsw: Handler = privileged((state, instr, nextEip) => {
  const v = readSelector(state, instr, operand(instr, 0));
  if (v.kind !== 'ok') return v;
  const cr0 = ((state.cr0 & ~0xe) | (v.value.value & 0xf) | (state.cr0 & CR0_PE)) >>> 0;
  return next(update(v.value.state, { cr0 }), nextEip);
});

/** [SYS.CLTS.1] CLTS clears CR0.TS. */
const clts: Handler = privileged((state, _instr, nextEip) => next(update(state, { cr0: (state.cr0 & ~CR0_TS) >>> 0 }), nextEip));

/** CR4 bits the model implements. */
/** CR4 bits the machine implements: PSE, and TSD (bit 2, SYS.TSC.2). */
const CR4_SUPPORTED = CR4_PSE | (1 << 2);

/**
 * [SYS.CR.1] MOV to CR0 with PG set and PE clear faults #GP(0); a change of
 * PG empties the TLB. [SYS.CR.2] MOV to CR3 empties the whole TLB (no global
 * pages: CR4.PGE is not implemented). [SYS.CR.3] MOV to CR4 setting a bit
 * other than PSE is a model error (PAE, PGE, VME… are outside our subset);
 * a change of PSE empties the TLB. MOV from CRn reads the register.
 */
const movControl: Handler = privileged((state, instr, nextEip) => {
  const [dst, src] = [operand(instr, 0), operand(instr, 1)];
  if (dst.kind === 'creg') {
    if (src.kind !== 'reg') throw new Error('model bug: MOV CRn needs a register source');
    const value = readRegister(state, 32, src.reg);
    switch (dst.reg) {
      case 0: {
        if ((value & CR0_PG) && !(value & CR0_PE)) return gp(0, 'SYS.CR.1');
        const tlb = ((value ^ state.cr0) & CR0_PG) !== 0 ? emptyTlb : state.tlb;
        return next(update(state, { cr0: (value | 0x10) >>> 0, tlb }), nextEip);
      }
      case 2: return next(update(state, { cr2: value }), nextEip);
      case 3: return next(update(state, { cr3: value, tlb: emptyTlb }), nextEip);
      case 4: {
        if (value & ~CR4_SUPPORTED) return { kind: 'model-error', message: `MOV to CR4 with unsupported bits 0x${(value & ~CR4_SUPPORTED).toString(16)}` };
        const tlb = ((value ^ state.cr4) & CR4_PSE) !== 0 ? emptyTlb : state.tlb;
        return next(update(state, { cr4: value, tlb }), nextEip);
      }
    }
  }
  if (src.kind !== 'creg' || dst.kind !== 'reg') throw new Error('model bug: MOV CRn form');
  const value = src.reg === 0 ? state.cr0 : src.reg === 2 ? state.cr2 : src.reg === 3 ? state.cr3 : state.cr4;
  return next(writeRegister(state, 32, dst.reg, value), nextEip);
});

/** [PAGE.TLB.3] INVLPG drops the TLB entry of the page holding the linear
 * address of its operand (segment base + offset; no segment checks). */
const invlpg: Handler = privileged((state, instr, nextEip) => {
  const { segment, offset } = effectiveAddress(state, instr, memoryOperand(instr));
  const linear = (state.segments[segment].base + offset) >>> 0;
  return next(update(state, { tlb: tlbInvalidate(state.tlb, linear) }), nextEip);
});

/**
 * [SYS.CPUID.1] CPUID gives a fixed answer at any CPL. Leaf 0: EAX = 1 (the
 * highest leaf), vendor "MesovirtIA32" in EBX, EDX, ECX. Leaf 1: EAX =
 * 0x00000633 (family 6, model 3, stepping 3), EBX = ECX = 0, EDX = exactly
 * the features the machine implements (SYS.CPUID.2). Every other leaf,
 * including 0x80000000: all zero. These values are our choice.
 */
const VENDOR = 'MesovirtIA32';
const vendorWord = (i: number): number =>
  (VENDOR.charCodeAt(i) | (VENDOR.charCodeAt(i + 1) << 8) | (VENDOR.charCodeAt(i + 2) << 16) | (VENDOR.charCodeAt(i + 3) << 24)) >>> 0;
export const CPUID_ANSWERS: Record<number, readonly [number, number, number, number]> = {
  0: [1, vendorWord(0), vendorWord(8), vendorWord(4)], // eax, ebx, ecx, edx
  // [SYS.CPUID.2] EDX: PSE (3), TSC (4), MSR (5), CX8 (8), SEP (11), CMOV (15); FPU (0) is 0: no coprocessor.
  1: [0x633, 0, 0, (1 << 3) | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 11) | (1 << 15)],
};
const cpuid: Handler = (state, _instr, nextEip) => {
  const [a, b, c, d] = CPUID_ANSWERS[state.regs[0]!] ?? [0, 0, 0, 0];
  const regs = state.regs.slice();
  regs[0] = a; regs[3] = b; regs[1] = c; regs[2] = d;
  return next(update(state, { regs }), nextEip);
};

/** [SYS.UD2.1] UD2 and UD1 (0F B9 /r, whose ModRM and displacement belong to
 * it) always raise #UD. */
const ud2: Handler = () => ud('SYS.UD2.1');

/** [SYS.WBINVD.1] WBINVD (CPL 0) has no visible effect: the model has no caches. */
const wbinvd: Handler = privileged((state, _instr, nextEip) => next(state, nextEip));

export const tableHandlers: Record<string, Handler> = {
  lgdt: loadTableRegister('gdtr'),
  lidt: loadTableRegister('idtr'),
  sgdt: storeTableRegister('gdtr'),
  sidt: storeTableRegister('idtr'),
  lldt, ltr,
  sldt: storeWord((s) => s.ldtr.selector),
  str: storeWord((s) => s.tr.selector),
  smsw: storeWord((s) => s.cr0, true),
  lmsw, clts, invlpg, cpuid, ud2, ud1: ud2, wbinvd,
  // [SYS.WBINVD.1] INVD (CPL 0) likewise: no caches, nothing to discard.
  invd: wbinvd,
};

/** MOV with a control-register operand (routed here by execute.ts). */
export const moveControlRegister: Handler = movControl;

// writeOperand is re-exported for handlers that store through generic operands.
export { writeOperand };
export type { Result };
