// impl's own decoder: bytes -> Decoded. One table entry per opcode (or per
// ModRM.reg member of a group) says how to read the rest of the instruction
// and which executor runs it; see opcode-table.ts. The decoder is only run
// on a code-cache miss.
import { DS, SS, Decoded } from './cpu';
import { fault, GP, UD, Unsupported } from './faults';
import { type Form, type Entry, primary, secondary } from './opcode-table';

const SEGMENT_PREFIX: Record<number, number> = { 0x26: 0, 0x2e: 1, 0x36: 2, 0x3e: 3, 0x64: 4, 0x65: 5 };

/** Decode the instruction whose bytes `read(i)` returns (it raises fetch faults). */
export function decode(read: (offset: number) => number): Decoded {
  let i = 0, operandSize = 4, override = -1, rep = 0, lock = false, address16 = false;
  let opcode: number;
  const next = (): number => {
    if (i >= 15) fault(GP, 0); // longer than 15 bytes
    return read(i++);
  };
  for (;;) {
    opcode = next();
    if (opcode === 0x66) operandSize = 2;
    else if (opcode === 0xf3) rep = 1;
    else if (opcode === 0xf2) rep = 2;
    else if (opcode === 0xf0) lock = true;
    else if (opcode in SEGMENT_PREFIX) override = SEGMENT_PREFIX[opcode];
    else if (opcode === 0x67) address16 = true;
    else break;
  }
  let entry: Entry;
  if (opcode === 0x0f) {
    const second = next();
    entry = secondary[second];
    opcode = 0x100 | second;
  } else entry = primary[opcode];
  if (entry === undefined) throw new Unsupported(`opcode ${hexOpcode(opcode)}`);
  if (entry === 'ud') fault(UD);

  const d = new Decoded(undefinedOpcode);
  d.operandSize = operandSize;
  d.override = override;
  d.rep = rep;
  d.lock = lock;
  let form: Form;
  let modrm = -1;
  if (Array.isArray(entry) || (entry as Form).modrm) {
    modrm = next();
    d.mod = modrm >> 6;
    d.reg = (modrm >> 3) & 7;
    d.rm = modrm & 7;
  }
  if (Array.isArray(entry)) {
    const member = entry[d.reg];
    if (member === undefined) throw new Unsupported(`opcode ${hexOpcode(opcode)} /${d.reg}`);
    if (member === 'ud') fault(UD);
    form = member;
  } else form = entry as Form;

  if (address16) d.addressMask = 0xffff;
  if (modrm >= 0) {
    if (form.registerForm) d.mod = 3; // MOV to/from CRn: the mod field is ignored
    if (d.mod !== 3) (address16 ? readAddress16 : readAddress)(d, next);
    else if (form.memoryOnly) fault(UD);
  }
  d.exec = form.exec;
  d.name = form.name;
  d.variant = form.variant;
  d.imm2 = form.imm2;
  d.size = form.byte ? 1 : form.fixedSize || operandSize;
  if (form.opcodeRegister === 'reg') d.reg = opcode & 7;
  else if (form.opcodeRegister === 'rm') { d.mod = 3; d.rm = opcode & 7; }
  if (form.accumulator) { d.mod = 3; d.rm = 0; d.reg = 0; }
  if (form.segmentRegister !== undefined) d.reg = form.segmentRegister;

  readImmediate(d, form, next, operandSize);
  if (lock && !(form.lockable && d.mod !== 3)) fault(UD);
  d.length = i;
  return d;
}

/** The 16-bit r/m forms: base and index register by r/m (BX+SI, BX+DI, BP+SI, BP+DI, SI, DI, BP, BX). */
const BASE16 = [3, 3, 5, 5, 6, 7, 5, 3], INDEX16 = [6, 7, 6, 7, -1, -1, -1, -1];

function readAddress16(d: Decoded, next: () => number): void {
  d.base = BASE16[d.rm]; d.index = INDEX16[d.rm]; d.scale = 0;
  if (d.mod === 0 && d.rm === 6) { d.base = -1; d.disp = readWord(next); }
  else if (d.mod === 1) d.disp = ((next() << 24) >> 24) & 0xffff;
  else if (d.mod === 2) d.disp = readWord(next);
  d.segment = d.override >= 0 ? d.override : d.base === 5 ? SS : DS;
}

function readAddress(d: Decoded, next: () => number): void {
  let base = d.rm;
  if (base === 4) {
    const sib = next();
    d.scale = sib >> 6;
    const index = (sib >> 3) & 7;
    d.index = index === 4 ? -1 : index;
    base = sib & 7;
    if (base === 5 && d.mod === 0) { base = -1; d.disp = readLong(next); }
  } else if (base === 5 && d.mod === 0) {
    base = -1;
    d.disp = readLong(next);
  }
  d.base = base;
  if (d.mod === 1) d.disp = ((next() << 24) >> 24) >>> 0;
  else if (d.mod === 2) d.disp = readLong(next);
  d.segment = d.override >= 0 ? d.override : base === 4 || base === 5 ? SS : DS;
}

const readWord = (next: () => number): number => next() | (next() << 8);
const readLong = (next: () => number): number => (readWord(next) | (readWord(next) << 16)) >>> 0;

function readImmediate(d: Decoded, form: Form, next: () => number, operandSize: number): void {
  switch (form.immediate) {
    case 'none': d.imm = form.fixedImmediate; return;
    case 'byte': d.imm = next(); return;
    case 'signed-byte': {
      const value = (next() << 24) >> 24;
      d.imm = operandSize === 2 ? value & 0xffff : value >>> 0;
      return;
    }
    case 'full': d.imm = d.size === 1 ? next() : d.size === 2 ? readWord(next) : readLong(next); return;
    case 'word': d.imm = readWord(next); return;
    case 'enter': d.imm = readWord(next); d.imm2 = next(); return;
    case 'far': d.imm = operandSize === 2 ? readWord(next) : readLong(next); d.imm2 = readWord(next); return;
    case 'offset': // moffs: a memory operand at an absolute address (16 bits with 0x67)
      d.mod = 0; d.base = -1; d.index = -1; d.disp = d.addressMask === 0xffff ? readWord(next) : readLong(next);
      d.segment = d.override >= 0 ? d.override : DS;
      return;
    case 'relative-byte': d.imm = (next() << 24) >> 24; return;
    case 'relative': d.imm = operandSize === 2 ? (readWord(next) << 16) >> 16 : readLong(next) | 0; return;
  }
}

function hexOpcode(opcode: number): string {
  return opcode > 0xff ? `0F ${(opcode & 0xff).toString(16).padStart(2, '0').toUpperCase()}`
    : opcode.toString(16).padStart(2, '0').toUpperCase();
}

function undefinedOpcode(): void {
  fault(UD);
}
