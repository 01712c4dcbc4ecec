// Handlers for BT, BTS, BTR, BTC, BSF and BSR.
import { bitTest, bsf, bsr, type BitTestKind } from '../arith/bits';
import { toSigned } from '../arith/flags';
import { effectiveAddress, readMemory, readMemoryForWrite, readOperand, readOperandForWrite, writeMemory, writeOperand, writeResult } from '../context';
import { ud, type Handler, type Outcome } from '../outcome';
import type { MachineState } from '../state';
import { operand, retireWithFlags } from './common';

// [INS.BIT.2] The bit offset of BT/BTS/BTR/BTC is taken modulo the operand
// size when it is an immediate or when the base is a register. When the base
// is memory and the offset a register, the offset is a signed number that
// may reach outside the operand: the element accessed is the operand-size
// unit at effective address + (size/8) × floor(offset / size), and the bit
// is offset mod size within it. (The manual lets the processor access either
// 2 or 4 bytes there; we access the operand-size unit.)
const bitHandler = (kind: BitTestKind): Handler => (state, instr, nextEip): Outcome => {
  const base = operand(instr, 0);
  const offsetOp = operand(instr, 1);
  if (instr.lock && (kind === 'bt' || base.kind !== 'mem')) return ud('ENC.PREFIX.5');
  const size = instr.operandSize;
  const offset = readOperand(state, instr, offsetOp);
  if (offset.kind !== 'ok') return offset;
  const s = offset.value.state;
  if (base.kind === 'mem' && offsetOp.kind === 'reg') {
    const signed = toSigned(size, offset.value.value);
    const unit = Math.floor(signed / size);
    const { segment, offset: address } = effectiveAddress(s, instr, base);
    const at = (address + unit * (size / 8)) >>> 0;
    return bitInMemory(kind, s, segment, at, size, signed - unit * size, nextEip);
  }
  // [PAGE.RMW.1] BTS, BTR and BTC write their memory operand; BT only reads.
  const value = (kind === 'bt' ? readOperand : readOperandForWrite)(s, instr, base);
  if (value.kind !== 'ok') return value;
  const r = bitTest(kind, size, value.value.value, offset.value.value % size, state.eflags);
  if (kind === 'bt') return retireWithFlags(value.value.state, r, nextEip);
  const written = writeOperand(value.value.state, instr, base, r.result);
  if (written.kind !== 'ok') return written;
  return retireWithFlags(written.value, r, nextEip);
};

function bitInMemory(
  kind: BitTestKind, state: MachineState, segment: Parameters<typeof readMemory>[1],
  at: number, size: 16 | 32, bit: number, nextEip: number,
): Outcome {
  // [PAGE.RMW.1]
  const value = (kind === 'bt' ? readMemory : readMemoryForWrite)(state, segment, at, size);
  if (value.kind !== 'ok') return value;
  const r = bitTest(kind, size, value.value.value, bit, state.eflags);
  if (kind === 'bt') return retireWithFlags(value.value.state, r, nextEip);
  const written = writeMemory(value.value.state, segment, at, size, r.result);
  if (written.kind !== 'ok') return written;
  return retireWithFlags(written.value, r, nextEip);
}

/** BSF and BSR: destination register, source register or memory. */
const scanHandler = (reverse: boolean): Handler => (state, instr, nextEip) => {
  const [dest, src] = [operand(instr, 0), operand(instr, 1)];
  const size = instr.operandSize;
  const d = readOperand(state, instr, dest);
  if (d.kind !== 'ok') return d;
  const v = readOperand(d.value.state, instr, src);
  if (v.kind !== 'ok') return v;
  const r = (reverse ? bsr : bsf)(size, d.value.value, v.value.value, state.eflags);
  const written = writeResult(v.value.state, instr, dest, r);
  if (written.kind !== 'ok') return written;
  return retireWithFlags(written.value, r, nextEip);
};

export const bitHandlers: Readonly<Record<string, Handler>> = {
  bt: bitHandler('bt'), bts: bitHandler('bts'), btr: bitHandler('btr'), btc: bitHandler('btc'),
  bsf: scanHandler(false), bsr: scanHandler(true),
  // [INS.BIT.5] F3 0F BC/BD (TZCNT/LZCNT) on a CPU without BMI1 and ABM: the
  // F3 is ignored and the instruction is BSF/BSR, as the manual says of those
  // encodings on processors that lack the extensions (SDM vol. 2, TZCNT, LZCNT).
  tzcnt: scanHandler(false), lzcnt: scanHandler(true),
};
