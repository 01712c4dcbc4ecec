// The API that instruction semantics are written against: registers,
// operands, memory through segmentation and paging, the stack, CPL.
// Every function is pure and returns either a value or a Fault.
import type { Instruction, Operand, SegmentName } from '../isa/ast';
import { update, withMemory, withRegisters, type MachineState, type SegmentRegister } from './state';
import { readPhysical, writeBytes, writePhysical } from './memory';
import { accessOf, translate } from './paging';
import { fault, Vector, type Fault, type Result } from './outcome';
import { applied, explaining, hexNote } from './applied';

export * from './outcome';

const MASK: Record<8 | 16 | 32, number> = { 8: 0xff, 16: 0xffff, 32: 0xffffffff };

/** [STATE.CPL.1] The current privilege level is the RPL of CS (a conforming
 * code load keeps it by writing CPL into CS.RPL). */
export function cpl(state: MachineState): number {
  return state.segments.cs.selector & 3;
}

// ---------------------------------------------------------------- registers

/** Read a general register. For size 8, reg 0..3 are AL..BL and 4..7 AH..BH. */
export function readRegister(state: MachineState, size: 8 | 16 | 32, reg: number): number {
  if (size === 32) return state.regs[reg]!;
  if (size === 16) return state.regs[reg]! & 0xffff;
  return reg < 4 ? state.regs[reg]! & 0xff : (state.regs[reg - 4]! >>> 8) & 0xff;
}

/** Write a general register; 8- and 16-bit writes keep the other bits.
 * [INS.RESULT.1] A 32-bit write replaces every bit, so it also ends the
 * ghost mark of an undefined value; a narrower write keeps the mark, since
 * the bits it leaves alone may still be undefined. */
export function writeRegister(state: MachineState, size: 8 | 16 | 32, reg: number, value: number): MachineState {
  return update(state, registersAfter(state, size, reg, value));
}

/** The `regs` and `undefinedRegisters` fields a register write gives
 * (writeRegister), for a caller that changes other fields in the same new
 * state. */
export function registersAfter(state: MachineState, size: 8 | 16 | 32, reg: number, value: number): { regs: number[]; undefinedRegisters: number } {
  const regs = state.regs.slice();
  if (size === 32) regs[reg] = value >>> 0;
  else if (size === 16) regs[reg] = ((regs[reg]! & 0xffff0000) | (value & 0xffff)) >>> 0;
  else if (reg < 4) regs[reg] = ((regs[reg]! & 0xffffff00) | (value & 0xff)) >>> 0;
  else regs[reg - 4] = ((regs[reg - 4]! & 0xffff00ff) | ((value & 0xff) << 8)) >>> 0;
  const undefinedRegisters = size === 32 ? state.undefinedRegisters & ~(1 << reg) : state.undefinedRegisters;
  return { regs, undefinedRegisters };
}

/**
 * [INS.RESULT.1] Write an instruction's result to its destination operand
 * and, when the manual leaves that result undefined (`resultUndefined`),
 * mark a register destination in the ghost state, so that comparisons with
 * a real processor leave it out. The value written is the model's documented
 * choice. A memory destination is not marked: the case generators never
 * draw an undefined result into memory (spec/instructions.md says so).
 */
export function writeResult(state: MachineState, instr: Instruction, op: Operand, r: { result: number; resultUndefined?: true }): Result<MachineState> {
  const written = writeOperand(state, instr, op, r.result);
  if (written.kind !== 'ok' || r.resultUndefined !== true || op.kind !== 'reg') return written;
  return { kind: 'ok', value: update(written.value, { undefinedRegisters: markedUndefined(written.value.undefinedRegisters, op) }) };
}

/** [INS.RESULT.1] The ghost marks with register operand `op` marked as
 * holding an undefined value (AH..BH mark their whole register). */
export function markedUndefined(undefinedRegisters: number, op: Extract<Operand, { kind: 'reg' }>): number {
  const reg = op.size === 8 && op.reg >= 4 ? op.reg - 4 : op.reg;
  return undefinedRegisters | (1 << reg);
}

// ---------------------------------------------------------------- addresses

type MemoryOperand = Extract<Operand, { kind: 'mem' }>;

/** [SEG.DEFAULT.1] The offset of a memory operand, and its segment: the
 * override prefix if any, else SS when the base register is ESP or EBP,
 * else DS. */
export function effectiveAddress(state: MachineState, instr: Instruction, mem: MemoryOperand): { segment: SegmentName; offset: number } {
  // [SEG.DEFAULT.2] With 16-bit addressing the offset is BX/BP + SI/DI + disp16
  // taken modulo 2^16 (it wraps inside the first 64 KiB of the segment), and
  // the default segment is SS when the base is BP, else DS.
  if (instr.addressSize === 16) {
    let offset16 = mem.disp;
    if (mem.base !== null) offset16 += state.regs[mem.base]!;
    if (mem.index !== null) offset16 += state.regs[mem.index]!;
    return { segment: instr.segment ?? (mem.base === 5 ? 'ss' : 'ds'), offset: offset16 & 0xffff };
  }
  let offset = mem.disp;
  if (mem.base !== null) offset += state.regs[mem.base]!;
  if (mem.index !== null) offset += state.regs[mem.index]! * mem.scale;
  const segment = instr.segment ?? (mem.base === 4 || mem.base === 5 ? 'ss' : 'ds');
  return { segment, offset: offset >>> 0 };
}

// ---------------------------------------------------------------- segments

/** Fields of a descriptor cache's attributes (see machine.ts). */
export const attr = {
  type: (s: SegmentRegister): number => s.attributes & 0xf,
  isSystem: (s: SegmentRegister): boolean => (s.attributes & 0x10) === 0,
  isCode: (s: SegmentRegister): boolean => (s.attributes & 0x18) === 0x18,
  dpl: (s: SegmentRegister): number => (s.attributes >>> 5) & 3,
  present: (s: SegmentRegister): boolean => (s.attributes & 0x80) !== 0,
  big: (s: SegmentRegister): boolean => (s.attributes & 0x4000) !== 0,
  /** Data: writable. */
  writable: (s: SegmentRegister): boolean => (s.attributes & 0x1a) === 0x12,
  /** Code: readable; data: always. */
  readable: (s: SegmentRegister): boolean => (s.attributes & 0x18) !== 0x18 || (s.attributes & 0x2) !== 0,
  expandDown: (s: SegmentRegister): boolean => (s.attributes & 0x1c) === 0x14,
  conforming: (s: SegmentRegister): boolean => (s.attributes & 0x1c) === 0x1c,
};

/** The fault a failed segment check raises: #SS(0) for SS, else #GP(0). */
function segmentFault(segment: SegmentName, rule: string): Fault {
  return fault(segment === 'ss' ? Vector.SS : Vector.GP, 0, rule);
}

/**
 * [SEG.LIMIT.1] An access of `bytes` bytes at `offset` is inside an
 * expand-up segment when offset + bytes - 1 <= limit (with no wrap past
 * 4 GiB). [SEG.LIMIT.2] In an expand-down segment the valid offsets are
 * limit + 1 .. 0xFFFFFFFF when B is set, limit + 1 .. 0xFFFF when it is clear.
 */
export function withinLimit(seg: SegmentRegister, offset: number, bytes: number): boolean {
  const last = offset + bytes - 1;
  if (attr.expandDown(seg)) {
    const upper = attr.big(seg) ? 0xffffffff : 0xffff;
    return offset > seg.limit && last <= upper;
  }
  return last <= seg.limit && last <= 0xffffffff;
}

/**
 * Check a data access through a segment register and return its linear
 * address. [SEG.ACCESS.1] A null (unusable) segment register faults #GP(0).
 * [SEG.ACCESS.2] Writes need a writable data segment, reads need a data or
 * readable code segment, else #GP(0). Limit violations fault #SS(0) through
 * SS and #GP(0) otherwise.
 */
export function segmentLinear(state: MachineState, segment: SegmentName, offset: number, bytes: number, write: boolean): Result<number> {
  const seg = state.segments[segment];
  if (!seg.valid) return segmentFault(segment, 'SEG.ACCESS.1');
  if (write ? !attr.writable(seg) : !attr.readable(seg)) return segmentFault(segment, 'SEG.ACCESS.2');
  if (!withinLimit(seg, offset >>> 0, bytes)) return segmentFault(segment, attr.expandDown(seg) ? 'SEG.LIMIT.2' : 'SEG.LIMIT.1');
  if (explaining()) {
    applied('SEG.ACCESS.2', `${write ? 'write' : 'read'} through ${segment.toUpperCase()} (${write ? 'writable data' : 'readable'})`);
    applied(attr.expandDown(seg) ? 'SEG.LIMIT.2' : 'SEG.LIMIT.1', `${segment.toUpperCase()}:${hexNote(offset)}, ${bytes} byte${bytes === 1 ? '' : 's'}, limit ${hexNote(seg.limit)} → linear ${hexNote(seg.base + offset)}`);
  }
  return { kind: 'ok', value: (seg.base + offset) >>> 0 };
}

// ---------------------------------------------------------------- memory

/**
 * Read 1, 2 or 4 bytes at a linear address through paging. `user` is the
 * paging privilege (true at CPL 3, false for implicit supervisor accesses).
 * [PAGE.CROSS.1] An access crossing a page boundary translates both pages
 * (the first page first) before it completes.
 */
export function readLinear(state: MachineState, linear: number, bytes: 1 | 2 | 4, user: boolean): Result<{ value: number; state: MachineState }> {
  linear >>>= 0;
  const access = accessOf(false, user);
  if ((linear & 0xfff) + bytes <= 0x1000) {
    const t = translate(state, linear, access);
    if (t.kind !== 'ok') return t;
    return { kind: 'ok', value: { value: readPhysical(t.state.memory, t.physical, bytes), state: t.state } };
  }
  let s = state;
  let value = 0;
  const physical: number[] = [];
  for (let i = 0; i < bytes; i++) {
    const t = translate(s, linear + i, access);
    if (t.kind !== 'ok') return t;
    s = t.state;
    physical.push(t.physical);
  }
  for (let i = bytes - 1; i >= 0; i--) value = ((value << 8) | readPhysical(s.memory, physical[i]!, 1)) >>> 0;
  return { kind: 'ok', value: { value, state: s } };
}

/** Write 1, 2 or 4 bytes at a linear address; every page is checked before
 * any byte is written, so a faulting write changes no memory. */
export function writeLinear(state: MachineState, linear: number, bytes: 1 | 2 | 4, value: number, user: boolean): Result<MachineState> {
  linear >>>= 0;
  const access = accessOf(true, user);
  if ((linear & 0xfff) + bytes <= 0x1000) {
    const t = translate(state, linear, access);
    if (t.kind !== 'ok') return t;
    const s = t.state;
    const memory = writePhysical(s.memory, t.physical, bytes, value);
    // A store of the bytes already there leaves memory, and so the state, as they are.
    return { kind: 'ok', value: memory === s.memory ? s : withMemory(s, memory) };
  }
  let s = state;
  const physical: number[] = [];
  for (let i = 0; i < bytes; i++) {
    const t = translate(s, linear + i, access);
    if (t.kind !== 'ok') return t;
    s = t.state;
    physical.push(t.physical);
  }
  let memory = s.memory;
  for (let i = 0; i < bytes; i++) memory = writePhysical(memory, physical[i]!, 1, (value >>> (8 * i)) & 0xff);
  return { kind: 'ok', value: withMemory(s, memory) };
}

const bytesOf = (size: 8 | 16 | 32): 1 | 2 | 4 => (size >>> 3) as 1 | 2 | 4;

/** Read through a segment register: segment checks, then paging at the CPL. */
export function readMemory(state: MachineState, segment: SegmentName, offset: number, size: 8 | 16 | 32): Result<{ value: number; state: MachineState }> {
  const linear = segmentLinear(state, segment, offset, size >>> 3, false);
  if (linear.kind !== 'ok') return linear;
  return readLinear(state, linear.value, bytesOf(size), cpl(state) === 3);
}

/**
 * [PAGE.RMW.1] Read the destination of a read-modify-write instruction (ADD
 * [m], r; INC [m]; XCHG; …): the segment must be writable and the page is
 * translated for a write, so a not-present page faults with W/R = 1, as the
 * processor reports for the whole locked-or-not read-modify-write access.
 */
export function readMemoryForWrite(state: MachineState, segment: SegmentName, offset: number, size: 8 | 16 | 32): Result<{ value: number; state: MachineState }> {
  const linear = segmentLinear(state, segment, offset, size >>> 3, true);
  if (linear.kind !== 'ok') return linear;
  const user = cpl(state) === 3;
  const bytes = bytesOf(size);
  // Translate every page the access touches for writing first, then read.
  // [PAGE.CROSS.1] The second page is named by its first byte (CR2 on a fault).
  let s = state;
  const crosses = (linear.value & 0xfff) + bytes > 0x1000;
  for (const at of crosses ? [linear.value, ((linear.value + bytes - 1) & ~0xfff) >>> 0] : [linear.value]) {
    const t = translate(s, at, accessOf(true, user));
    if (t.kind !== 'ok') return t;
    s = t.state;
  }
  return readLinear(s, linear.value, bytes, user);
}

/** readOperand for the destination of a read-modify-write (see readMemoryForWrite). */
export function readOperandForWrite(state: MachineState, instr: Instruction, op: Operand): Result<{ value: number; state: MachineState }> {
  if (op.kind !== 'mem') return readOperand(state, instr, op);
  const { segment, offset } = effectiveAddress(state, instr, op);
  return readMemoryForWrite(state, segment, offset, dataSize(op.size, 'read'));
}

/** Write through a segment register: segment checks, then paging at the CPL. */
export function writeMemory(state: MachineState, segment: SegmentName, offset: number, size: 8 | 16 | 32, value: number): Result<MachineState> {
  const linear = segmentLinear(state, segment, offset, size >>> 3, true);
  if (linear.kind !== 'ok') return linear;
  return writeLinear(state, linear.value, bytesOf(size), value & MASK[size], cpl(state) === 3);
}

// ---------------------------------------------------------------- operands

function dataSize(size: number, what: string): 8 | 16 | 32 {
  if (size === 8 || size === 16 || size === 32) return size;
  // Not architectural: a handler asked readOperand for a pseudo-descriptor.
  throw new Error(`model bug: ${what} of a ${size}-bit memory operand; read its parts with readMemory`);
}

/** Read a register, memory, immediate, segment or control register operand.
 * Other kinds (rel, far) are not values; asking for one is a model bug. */
export function readOperand(state: MachineState, instr: Instruction, op: Operand): Result<{ value: number; state: MachineState }> {
  switch (op.kind) {
    case 'reg': return { kind: 'ok', value: { value: readRegister(state, op.size, op.reg), state } };
    case 'imm': return { kind: 'ok', value: { value: op.value >>> 0, state } };
    case 'mem': {
      const { segment, offset } = effectiveAddress(state, instr, op);
      return readMemory(state, segment, offset, dataSize(op.size, 'read'));
    }
    case 'sreg': return { kind: 'ok', value: { value: state.segments[SEGMENT_ORDER[op.reg]!].selector, state } };
    case 'creg': return { kind: 'ok', value: { value: controlRegister(state, op.reg), state } };
    default: throw new Error(`model bug: readOperand of a ${op.kind} operand`);
  }
}

/** Write a register or memory operand (segment and control registers have
 * their own rules: see system/segments.ts and system/control.ts). */
export function writeOperand(state: MachineState, instr: Instruction, op: Operand, value: number): Result<MachineState> {
  switch (op.kind) {
    case 'reg': return { kind: 'ok', value: writeRegister(state, op.size, op.reg, value) };
    case 'mem': {
      const { segment, offset } = effectiveAddress(state, instr, op);
      return writeMemory(state, segment, offset, dataSize(op.size, 'write'), value);
    }
    default: throw new Error(`model bug: writeOperand of a ${op.kind} operand`);
  }
}

const SEGMENT_ORDER = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'] as const;

function controlRegister(state: MachineState, reg: 0 | 2 | 3 | 4): number {
  return reg === 0 ? state.cr0 : reg === 2 ? state.cr2 : reg === 3 ? state.cr3 : state.cr4;
}

// ---------------------------------------------------------------- stack

/** [SEG.STACK.1] The stack pointer is ESP when SS.B is set, else SP (the
 * upper half of ESP is then kept). */
export function stackPointer(state: MachineState): number {
  return attr.big(state.segments.ss) ? state.regs[4]! : state.regs[4]! & 0xffff;
}

export function withStackPointer(state: MachineState, sp: number): MachineState {
  const big = attr.big(state.segments.ss);
  const regs = state.regs.slice();
  regs[4] = big ? sp >>> 0 : ((regs[4]! & 0xffff0000) | (sp & 0xffff)) >>> 0;
  return withRegisters(state, regs);
}

/** Push a 16- or 32-bit value. On a fault ESP is unchanged. */
export function push(state: MachineState, value: number, size: 16 | 32): Result<MachineState> {
  const mask = attr.big(state.segments.ss) ? 0xffffffff : 0xffff;
  const sp = ((stackPointer(state) - size / 8) & mask) >>> 0;
  const written = writeMemory(state, 'ss', sp, size, value);
  if (written.kind !== 'ok') return written;
  return { kind: 'ok', value: withStackPointer(written.value, sp) };
}

/**
 * Test-only mutants of pushMany (test/cpu/push-many.test.ts), false in
 * every normal run: `anyFrameOnePage` stores every frame as if it lay in one
 * page, `firstLimitOnly` checks the segment limit of the first slot only.
 */
export const pushManyMutation: { anyFrameOnePage: boolean; firstLimitOnly: boolean } = { anyFrameOnePage: false, firstLimitOnly: false };

/**
 * Push `values` in order, as that many pushes (event delivery pushes five or
 * six), in one new state. Each slot gets its segment check and translation
 * in turn, so a fault is the one those pushes would raise; on a fault
 * neither ESP nor memory changes. When the slots lie in one page their
 * stores are made together, after the translations: only the first slot's
 * translation can walk the page tables, since it leaves an entry in the TLB
 * (dirty, allowed for this access) through which the others are translated
 * [PAGE.TLB.1], so no walk reads memory between the stores. Otherwise the
 * slots are pushed one by one.
 */
export function pushMany(state: MachineState, values: readonly number[], size: 16 | 32): Result<MachineState> {
  const m = pushManyMutation;
  const mask = attr.big(state.segments.ss) ? 0xffffffff : 0xffff;
  const bytes = size / 8;
  const top = stackPointer(state);
  const frame = values.length * bytes;
  const base = state.segments.ss.base;
  const onePage = m.anyFrameOnePage || (top >= frame && ((base + top - frame) >>> 12) === ((base + top - 1) >>> 12));
  if (!onePage) {
    let s = state;
    for (const value of values) {
      const pushed = push(s, value, size);
      if (pushed.kind !== 'ok') return pushed;
      s = pushed.value;
    }
    return { kind: 'ok', value: s };
  }
  const user = cpl(state) === 3;
  let s = state;
  let physical = 0;
  for (let i = 1; i <= values.length; i++) {
    const linear = segmentLinear(s, 'ss', top - i * bytes, bytes, true);
    if (linear.kind !== 'ok' && !(m.firstLimitOnly && i > 1)) return linear;
    if (linear.kind !== 'ok') continue;
    const t = translate(s, linear.value, accessOf(true, user));
    if (t.kind !== 'ok') return t;
    s = t.state;
    physical = t.physical;
  }
  // The frame's bytes from its lowest address, where the last value pushed lies.
  const stored: number[] = [];
  for (let i = values.length - 1; i >= 0; i--) {
    for (let b = 0; b < bytes; b++) stored.push((values[i]! >>> (8 * b)) & 0xff);
  }
  return { kind: 'ok', value: withStackPointer(withMemory(s, writeBytes(s.memory, physical, stored)), (top - frame) & mask) };
}

/** Pop a 16- or 32-bit value. On a fault ESP is unchanged. */
export function pop(state: MachineState, size: 16 | 32): Result<{ value: number; state: MachineState }> {
  const mask = attr.big(state.segments.ss) ? 0xffffffff : 0xffff;
  const sp = stackPointer(state);
  const read = readMemory(state, 'ss', sp, size);
  if (read.kind !== 'ok') return read;
  return { kind: 'ok', value: { value: read.value.value, state: withStackPointer(read.value.state, ((sp + size / 8) & mask) >>> 0) } };
}

/** Pop `count` values of `size` bits, the first popped first. On a fault
 * ESP is unchanged. The same as `count` pops: a read writes no register, so
 * each value is read where its pop would find it and ESP moves once, past
 * them all (IRET and far RET pop three or five). */
export function popMany(state: MachineState, count: number, size: 16 | 32): Result<{ values: number[]; state: MachineState }> {
  const mask = attr.big(state.segments.ss) ? 0xffffffff : 0xffff;
  const sp = stackPointer(state);
  const values: number[] = [];
  let s = state;
  for (let i = 0; i < count; i++) {
    const read = readMemory(s, 'ss', ((sp + i * (size / 8)) & mask) >>> 0, size);
    if (read.kind !== 'ok') return read;
    values.push(read.value.value);
    s = read.value.state;
  }
  return { kind: 'ok', value: { values, state: withStackPointer(s, ((sp + count * (size / 8)) & mask) >>> 0) } };
}
