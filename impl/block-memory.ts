// Inline JavaScript for the commonest instructions with a memory operand in
// a translated block (blocks.ts): MOV loads and stores, MOVZX/MOVSX, the
// ALU operations (CMP, and read-modify-write ADD/SUB/AND/OR/XOR), INC/DEC,
// PUSH and POP of a register. Each asks fast-access.ts for the physical
// address (`rd`: fastReadAddress, `wr`: fastWriteAddress) and, when it gets
// one, reads or writes the typed array directly (`bytes` and the DataView
// `view` of physical memory); when it gets -1 it runs `slow`, the call of
// the instruction's executor with the block's fault bookkeeping, which takes
// the generic path. A read-modify-write asks for write access once: a
// writable segment is readable and a writable TLB entry is readable, so the
// read that comes first cannot fault either.
import { type Decoded, SS } from './cpu';
import { ARITH, CF, OP_ADD, OP_SUB } from './flags';
import { ADD, AND, CMP, OR, SUB, XOR, aluOperation, record, registerRead, registerWrite } from './block-inline';
import * as alu from './ops/alu';
import * as move from './ops/move';
import { mutated } from './mutants';
import { CODE_FRAME } from './memory';

/** The effective offset (operands.ts effectiveOffset) as an int32 expression (the offset is its `>>> 0`). */
function offsetOf(d: Decoded): string {
  let sum = `${d.disp | 0}`;
  if (d.base >= 0) sum += ` + R${d.base}`;
  if (d.index >= 0) sum += ` + (R${d.index} << ${d.scale})`;
  return `((${sum}) | 0)`;
}

/** Reading and writing `size` bytes at physical address `p` (a dword as int32, as the block's register locals hold it). */
const load = (size: number): string => (size === 4 ? 'view.getInt32(p, true)' : size === 1 ? 'bytes[p]' : 'view.getUint16(p, true)');
const store = (size: number, value: string): string =>
  size === 4 ? `view.setInt32(p, ${value}, true);` : size === 1 ? `bytes[p] = ${value};` : `view.setUint16(p, ${value}, true);`;

const INLINE_ALU = new Set([ADD, OR, AND, SUB, XOR, CMP]);

/**
 * The physical address of an access at offset `o`, or -1 (fast-access.ts).
 * A block cannot change segment registers, CR0 or the CPL, so it decides
 * once, on entry, whether a segment is flat (base 0, offsets 0..4 GiB - 1,
 * the access allowed): the local `fr<segment>` (reads) or `fw<segment>`
 * (writes), declared by blocks.ts for each one the code names, and `pg`
 * (paging on), `rneed` and `wneed` (the TLB bits fastReadAddress and
 * fastWriteAddress require at this CPL). Through a flat segment, an access
 * that stays in one page takes the offset itself (paging off) or the frame
 * of a TLB entry that has the needed bits; then, once it lies in RAM (and,
 * for a write, off frames holding code) that is exactly what
 * fastReadAddress / fastWriteAddress would answer, without the call.
 */
function physical(kind: 'rd' | 'wr', segment: number, bytes: number, flatMode: boolean): string {
  const write = kind === 'wr', need = write ? 'wneed' : 'rneed';
  // A write to a frame that holds decoded code (or watched bytes) goes the
  // executor's way only when one of its own bytes is marked (cpu.codeBytes,
  // as fastWriteAddress's overlapsCode): a kernel's counters next to its
  // code are written inline.
  const touchesCode = (at: string): string => {
    const marked = Array.from({ length: mutated('store-checks-first-byte-only') ? 1 : bytes }, (_, i) => `cb[(${at} & 0xfff)${i === 0 ? '' : ` + ${i}`}]`).join(' | ');
    // A frame marked for more than code (memory.ts UNWRITTEN_FRAME: not yet
    // written, on a machine recording its writes) takes the executor's way.
    const other = mutated('block-store-skips-record') ? '' : `codes[${at} >>> 12] !== ${CODE_FRAME} || `;
    return `(codes[${at} >>> 12] !== 0 && (${other}(cb = cbytes[${at} >>> 12]) === undefined || (${marked}) !== 0))`;
  };
  if (flatMode) {
    // The flat variant (blocks.ts): the segment is flat and paging off, so
    // the offset is the physical address. Whether all of it lies in RAM is
    // one unsigned compare (a negative int32 offset is 2 GiB or more, past
    // any RAM); a read may cross a page (no translation to look up), a
    // write must not, so that it lies in one frame, which holds no decoded
    // instructions.
    const end = mutated('flat-block-read-past-ram') && !write ? 'msz' : `msz - ${bytes}`;
    const crosses = bytes === 1 || !write ? '' : ` || (o & 0xfff) > ${0x1000 - bytes}`;
    return `let p = o; if ((o >>> 0) > ${end}${crosses}${write && !mutated('flat-block-store-ignores-code') ? ` || ${touchesCode('o')}` : ''}) p = ${kind}(cpu, ${segment}, o >>> 0, ${bytes});`;
  }
  const inPage = bytes === 1 ? '' : ` && (o & 0xfff) <= ${0x1000 - bytes}`;
  const guess = `f${write ? 'w' : 'r'}${segment}${inPage} ? (pg ? ((tl = tlb[o >>> 12]) & ${need}) === ${need} ? (tl & -4096) | (o & 0xfff) : -1 : o) : -1`;
  return `let p = ${guess}; if (p < 0 || p + ${bytes} > msz${write ? ` || ${touchesCode('p')}` : ''}) p = ${kind}(cpu, ${segment}, o >>> 0, ${bytes});`;
}

/** Code for `d` with a memory operand (fast path, else `slow`), or null. */
export function inlineMemory(d: Decoded, slow: string, faultExit: string, flatMode = false): string | null {
  const e = d.exec, size = d.size;
  // When the fast path says no, a TLB miss is walked here (fast-access.ts
  // walkAhead): the access then goes on inline, or a page fault it is sure
  // to take leaves the block without a throw (-2); else the executor runs.
  // (The flat variant runs with paging off: there is nothing to walk.)
  const access = (segment: number, kind: 'rd' | 'wr', bytes: number, fast: string): string => {
    const walk = flatMode ? '' : `if (p < 0) p = wa(cpu, ${segment}, o >>> 0, ${bytes}, ${kind === 'wr'}); `;
    return `${physical(kind, segment, bytes, flatMode)} ${walk}if (p >= 0) { ${fast} } else if (p === -2) ${faultExit} else { ${slow} }`;
  };
  const at = (kind: 'rd' | 'wr', bytes: number, fast: string): string =>
    `{ const o = ${offsetOf(d)}; ${access(d.segment, kind, bytes, fast)} }`;
  if (e === move.pushRegister && size === 4) {
    return `{ const o = (R4 - 4) | 0; ${access(SS, 'wr', 4, `view.setInt32(p, R${d.reg}, true); R4 = o;`)} }`;
  }
  if (e === move.popRegister && size === 4) {
    return `{ const o = R4; ${access(SS, 'rd', 4, `const v = view.getInt32(p, true); R4 = (o + 4) | 0; R${d.reg} = v;`)} }`;
  }
  if (d.mod === 3 || (size !== 4 && size !== 1 && size !== 2)) return null;
  if (e === move.moveRegRm) return at('rd', size, registerWrite(size, d.reg, load(size)));
  if (e === move.moveRmReg) return at('wr', size, store(size, registerRead(size, d.reg)));
  if (e === move.moveRmImm) return at('wr', size, store(size, `${size === 4 ? d.imm | 0 : d.imm}`));
  if (e === move.moveExtend) {
    const from = d.imm2, value = d.variant === 1 ? (from === 1 ? '((v << 24) >> 24)' : '((v << 16) >> 16)') : 'v';
    return at('rd', from, `const v = ${load(from)}; ${registerWrite(size, d.reg, value)}`);
  }
  if (size === 2 || !INLINE_ALU.has(d.variant) || (e !== alu.aluRegRm && e !== alu.aluRmReg && e !== alu.aluRmImm)) {
    return e === alu.incrementRM && size !== 2 ? incrementMemory(d, at) : null;
  }
  if (e === alu.aluRegRm) {
    const op = aluOperation(d.variant, registerRead(size, d.reg), load(size), size, registerWrite(size, d.reg, 'fx'));
    return op === null ? null : at('rd', size, op.code);
  }
  const source = e === alu.aluRmReg ? registerRead(size, d.reg) : `${size === 4 ? d.imm | 0 : d.imm}`;
  if (d.variant === CMP) {
    const op = aluOperation(CMP, load(size), source, size, '');
    return op === null ? null : at('rd', size, op.code);
  }
  const op = aluOperation(d.variant, load(size), source, size, store(size, 'fx'));
  return op === null ? null : at('wr', size, op.code);
}

/** INC/DEC of a memory operand (alu.ts incrementRM): CF is left alone. */
function incrementMemory(d: Decoded, at: (kind: 'rd' | 'wr', bytes: number, fast: string) => string): string {
  const size = d.size, up = d.variant === 0, m = size === 4 ? '0xffffffff' : '0xff';
  return at('wr', size, `const a = ${load(size)}, x = (a ${up ? '+' : '-'} 1) & ${m}; ${store(size, 'x')} ${record(up ? OP_ADD : OP_SUB, 'a', '1', 'x', size, ARITH & ~CF)}`);
}
