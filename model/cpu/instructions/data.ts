// Handlers for data movement (MOV, MOVZX, MOVSX, XCHG, XADD, CMPXCHG, BSWAP,
// LEA, CBW/CWDE, CWD/CDQ) and the flag instructions (LAHF, SAHF, CLC, STC,
// CMC, CLD, STD, NOP).
import { addressWidth, toWidth } from '../address-width';
import { add, cmp } from '../arith/alu';
import { bswap } from '../arith/bits';
import { signExtend } from '../arith/flags';
import { effectiveAddress, readMemory, readMemoryForWrite, writeMemory, readOperand, readOperandForWrite, readRegister, writeOperand, writeRegister, writeResult } from '../context';
import { AF, CF, DF, PF, RESERVED_ONE, SF, ZF, withFlags } from '../eflags';
import { modelError, ud, type Handler } from '../outcome';
import { EAX, EBX, ECX, EDX, isSystemForm, operand, retire, retireWith, retireWithFlags, widthOf, writeAndRetire } from './common';

const systemForm = (mnemonic: string) =>
  modelError(`'${mnemonic}' with a segment or control register is a system instruction (model/cpu/system)`);

// [INS.DATA.1] MOV copies its source to its destination and changes no flag.
const move: Handler = (state, instr, nextEip) => {
  if (isSystemForm(instr)) return systemForm('mov');
  const src = readOperand(state, instr, operand(instr, 1));
  if (src.kind !== 'ok') return src;
  return writeAndRetire(src.value.state, instr, operand(instr, 0), src.value.value, nextEip);
};

// [INS.DATA.2] MOVZX zero-extends and MOVSX sign-extends an 8- or 16-bit
// source to the operand size.
const moveExtended = (signed: boolean): Handler => (state, instr, nextEip) => {
  const dest = operand(instr, 0);
  const source = operand(instr, 1);
  const src = readOperand(state, instr, source);
  if (src.kind !== 'ok') return src;
  const from = widthOf(instr, source);
  const to = widthOf(instr, dest);
  const value = signed ? signExtend(from, to, src.value.value) : src.value.value;
  return writeAndRetire(src.value.state, instr, dest, value, nextEip);
};

// [INS.DATA.3] XCHG swaps its operands (with a memory operand the processor
// locks the bus whether or not LOCK is given; the model is single-processor
// so this changes nothing observable).
const exchange: Handler = (state, instr, nextEip) => {
  const [x, y] = [operand(instr, 0), operand(instr, 1)];
  // [PAGE.RMW.1] Both operands are read as they will be written.
  const a = readOperandForWrite(state, instr, x);
  if (a.kind !== 'ok') return a;
  const b = readOperandForWrite(a.value.state, instr, y);
  if (b.kind !== 'ok') return b;
  // [INS.DATA.3] A memory operand is written first, at the address computed
  // before the instruction: its address may use the register being swapped.
  const [[w1, v1], [w2, v2]] = y.kind === 'mem' ? [[y, a.value.value], [x, b.value.value]] : [[x, b.value.value], [y, a.value.value]];
  const first = writeOperand(b.value.state, instr, w1, v1);
  if (first.kind !== 'ok') return first;
  return writeAndRetire(first.value, instr, w2, v2, nextEip);
};

// [INS.DATA.4] XADD: temp := dest + src; src := dest; dest := temp, with
// ADD's flags. The destination is written last, so `xadd eax, eax` leaves the
// sum in EAX.
const exchangeAdd: Handler = (state, instr, nextEip) => {
  const [dest, src] = [operand(instr, 0), operand(instr, 1)];
  if (instr.lock && dest.kind !== 'mem') return ud('ENC.PREFIX.5');
  // [PAGE.RMW.1]
  const a = readOperandForWrite(state, instr, dest);
  if (a.kind !== 'ok') return a;
  const b = readOperand(a.value.state, instr, src);
  if (b.kind !== 'ok') return b;
  const r = add(widthOf(instr, dest), a.value.value, b.value.value, state.eflags);
  // [INS.DATA.4] A memory destination is written first, at the address
  // computed before the instruction (it may use the source register).
  const memoryFirst = dest.kind === 'mem';
  const s1 = memoryFirst ? writeOperand(b.value.state, instr, dest, r.result) : writeOperand(b.value.state, instr, src, a.value.value);
  if (s1.kind !== 'ok') return s1;
  const s2 = memoryFirst ? writeOperand(s1.value, instr, src, a.value.value) : writeOperand(s1.value, instr, dest, r.result);
  if (s2.kind !== 'ok') return s2;
  return retireWithFlags(s2.value, r, nextEip);
};

// [INS.DATA.5] CMPXCHG compares the accumulator (AL, AX, EAX) with the
// destination, with CMP's flags. If equal, ZF is set and the destination
// receives the source; otherwise ZF is clear, the accumulator receives the
// destination, and the destination is written back with its own value, so a
// read-only destination faults even when the comparison fails.
const compareExchange: Handler = (state, instr, nextEip) => {
  const [dest, src] = [operand(instr, 0), operand(instr, 1)];
  if (instr.lock && dest.kind !== 'mem') return ud('ENC.PREFIX.5');
  const size = widthOf(instr, dest);
  // [PAGE.RMW.1]
  const d = readOperandForWrite(state, instr, dest);
  if (d.kind !== 'ok') return d;
  const s = readOperand(d.value.state, instr, src);
  if (s.kind !== 'ok') return s;
  const accumulator = readRegister(state, size, EAX);
  const r = cmp(size, accumulator, d.value.value, state.eflags);
  const equal = accumulator === d.value.value;
  const written = writeOperand(s.value.state, instr, dest, equal ? s.value.value : d.value.value);
  if (written.kind !== 'ok') return written;
  const after = equal ? written.value : writeRegister(written.value, size, EAX, d.value.value);
  return retireWithFlags(after, r, nextEip);
};

// [INS.DATA.9] CMPXCHG8B m64 compares EDX:EAX with the quadword at m64. If
// equal, ZF = 1 and m64 receives ECX:EBX; otherwise ZF = 0, EDX:EAX receives
// m64, and m64 is written back with its own value (the manual: the
// destination is written whether or not the comparison succeeds), so a
// read-only quadword faults either way. Only ZF changes. The operand size
// does not matter; a register operand is #UD (ENC.UD.2).
const compareExchange8: Handler = (state, instr, nextEip) => {
  const m = operand(instr, 0);
  if (m.kind !== 'mem') return ud('ENC.UD.2');
  const { segment, offset } = effectiveAddress(state, instr, m);
  const highOffset = (offset + 4) >>> 0;
  // [PAGE.RMW.1] Both halves are read as they will be written.
  const low = readMemoryForWrite(state, segment, offset, 32);
  if (low.kind !== 'ok') return low;
  const high = readMemoryForWrite(low.value.state, segment, highOffset, 32);
  if (high.kind !== 'ok') return high;
  const s = high.value.state;
  const equal = low.value.value === readRegister(s, 32, EAX) && high.value.value === readRegister(s, 32, EDX);
  const [newLow, newHigh] = equal ? [readRegister(s, 32, EBX), readRegister(s, 32, ECX)] : [low.value.value, high.value.value];
  const w1 = writeMemory(s, segment, offset, 32, newLow);
  if (w1.kind !== 'ok') return w1;
  const w2 = writeMemory(w1.value, segment, highOffset, 32, newHigh);
  if (w2.kind !== 'ok') return w2;
  const after = equal ? w2.value : writeRegister(writeRegister(w2.value, 32, EAX, low.value.value), 32, EDX, high.value.value);
  return retire(withFlags(after, { written: ZF, values: equal ? ZF : 0 }), nextEip);
};

const byteSwap: Handler = (state, instr, nextEip) => {
  const reg = operand(instr, 0);
  const size = widthOf(instr, reg);
  const a = readOperand(state, instr, reg);
  if (a.kind !== 'ok') return a;
  return retireWith(writeResult(a.value.state, instr, reg, bswap(size, a.value.value, state.eflags)), nextEip);
};

// [INS.DATA.6] LEA writes the offset of its memory operand (no segment base,
// no access, no check), truncated to the operand size.
const loadEffectiveAddress: Handler = (state, instr, nextEip) => {
  const mem = operand(instr, 1);
  if (mem.kind !== 'mem') return ud('ENC.UD.2');
  const { offset } = effectiveAddress(state, instr, mem);
  return writeAndRetire(state, instr, operand(instr, 0), offset, nextEip);
};

// [INS.DATA.7] CBW (16-bit operand size) sign-extends AL into AX and CWDE
// (32-bit) AX into EAX; CWD fills DX and CDQ fills EDX with the sign of AX or
// EAX. One mnemonic each, chosen by the operand size, as in the opcode map.
const convert: Handler = (state, instr, nextEip) => {
  const to = instr.operandSize;
  const from = to === 16 ? 8 : 16;
  return retire(writeRegister(state, to, EAX, signExtend(from, to, readRegister(state, from, EAX))), nextEip);
};

const convertWide: Handler = (state, instr, nextEip) => {
  const size = instr.operandSize;
  const negative = signExtend(size, 32, readRegister(state, size, EAX)) >= 0x80000000;
  return retire(writeRegister(state, size, EDX, negative ? 0xffffffff : 0), nextEip);
};

// [INS.FLAG.1] LAHF loads AH with SF:ZF:0:AF:0:PF:1:CF; SAHF stores AH's bits
// 7, 6, 4, 2 and 0 into SF, ZF, AF, PF and CF.
const LAHF_FLAGS = SF | ZF | AF | PF | CF;
const loadFlags: Handler = (state, _instr, nextEip) =>
  retire(writeRegister(state, 8, 4, (state.eflags & LAHF_FLAGS) | RESERVED_ONE), nextEip);
const storeFlags: Handler = (state, _instr, nextEip) =>
  retire(withFlags(state, { written: LAHF_FLAGS, values: readRegister(state, 8, 4) }), nextEip);

// [INS.FLAG.2] CLC, STC and CMC clear, set and invert CF; CLD and STD clear
// and set DF. Nothing else changes.
const setFlag = (bit: number, value: (eflags: number) => number): Handler => (state, _instr, nextEip) =>
  retire(withFlags(state, { written: bit, values: value(state.eflags) }), nextEip);

// [INS.DATA.8] XLAT loads AL with the byte at DS:[EBX + AL] (AL unsigned;
// a segment override replaces DS), the offset wrapping at 32 bits; with the
// address-size prefix at DS:[BX + AL], wrapping at 16 bits (INS.ADDR16.1).
const translateByte: Handler = (state, instr, nextEip) => {
  const width = addressWidth(instr);
  const offset = toWidth(readRegister(state, width, EBX) + readRegister(state, 8, EAX), width);
  const byte = readMemory(state, instr.segment ?? 'ds', offset, 8);
  if (byte.kind !== 'ok') return byte;
  return retire(writeRegister(byte.value.state, 8, EAX, byte.value.value), nextEip);
};

// [INS.NOP.1] NOP, PAUSE (F3 90), the multi-byte NOP (0F 1F /0) and the hint
// NOPs (0F 18..0F 1F) do nothing but advance EIP: their r/m operand is never
// computed into an access, so no address they name can fault.
const noOperation: Handler = (state, _instr, nextEip) => retire(state, nextEip);
const hintNops: Record<string, Handler> = Object.fromEntries(
  Array.from({ length: 64 }, (_, n) => [`hint_nop${n}`, noOperation] as const).filter(([name]) => name !== 'hint_nop56'),
);

export const dataHandlers: Readonly<Record<string, Handler>> = {
  mov: move, movzx: moveExtended(false), movsx: moveExtended(true),
  xchg: exchange, xadd: exchangeAdd, cmpxchg: compareExchange, cmpxchg8b: compareExchange8, bswap: byteSwap,
  lea: loadEffectiveAddress, cbw: convert, cwd: convertWide,
  lahf: loadFlags, sahf: storeFlags,
  clc: setFlag(CF, () => 0), stc: setFlag(CF, () => CF), cmc: setFlag(CF, (f) => f ^ CF),
  cld: setFlag(DF, () => 0), std: setFlag(DF, () => DF),
  nop: noOperation, pause: noOperation, ...hintNops,
  xlat: translateByte,
};
