// Case templates for the user-level instructions of issue 14 that have a
// 64-bit twin with the same semantics: XLAT, CMPXCHG8B, BT/BTS/BTR/BTC with
// an immediate on memory, the multi-byte and hint NOPs and PAUSE. (ARPL and
// the far-pointer loads do not exist in 64-bit mode; TZCNT/LZCNT run as
// BMI1/ABM instructions on the host, not as BSF/BSR: INS.BIT.5 checks those
// on the two machines instead.)
import { edgeBiased } from './random';
import { AF, DATA_ADDR, OF, PF, SF, hexImm, randomBytes, randomFlags, type CaseSource, type Family, type GeneralRegName } from './template';

type Regs = Partial<Record<GeneralRegName, number>>;

export const pentiumFamily: Family = {
  name: 'pentium',
  generate(rng): CaseSource {
    const regs: Regs = {};
    const data = { addr: DATA_ADDR, bytes: randomBytes(rng, 64) };
    const view = new DataView(data.bytes.buffer);
    const kind = rng.below(4);
    let line: string;
    let undefinedFlags = 0;
    if (kind === 0) {
      // [INS.DATA.8] AL indexes a table at EBX (the data region); AL unsigned, up to 63 here.
      regs.ebx = DATA_ADDR;
      regs.eax = ((edgeBiased(rng, 32) & ~0xff) | rng.below(64)) >>> 0;
      line = 'xlatb';
    } else if (kind === 1) {
      // [INS.DATA.9] EDX:EAX equal to the quadword half of the time.
      const low = view.getUint32(8, true), high = view.getUint32(12, true);
      const equal = rng.chance(0.5);
      regs.eax = equal ? low : edgeBiased(rng, 32);
      regs.edx = equal ? high : edgeBiased(rng, 32);
      regs.ebx = edgeBiased(rng, 32);
      regs.ecx = edgeBiased(rng, 32);
      line = `${rng.chance(0.3) ? 'lock ' : ''}cmpxchg8b [${hexImm(DATA_ADDR + 8)}]`;
    } else if (kind === 2) {
      // [INS.BIT.2] An immediate offset on memory is taken modulo the operand size.
      const op = rng.pick(['bt', 'bts', 'btr', 'btc']);
      const size = rng.pick(['word', 'dword']);
      line = `${op} ${size} [${hexImm(DATA_ADDR + 16)}], ${rng.pick([0, 1, 7, 15, 16, 31, 32, 63, 255])}`;
      undefinedFlags = OF | SF | AF | PF;
    } else {
      // [INS.NOP.1] Nothing but EIP changes, whatever the operand names.
      line = rng.pick(['pause', 'nop dword [eax]', 'nop word [ebx+ecx*4+0x12345678]', 'nop esi', 'hint_nop7 eax', 'hint_nop40 edx']);
    }
    return { title: line, lines: [line], regs, eflags: randomFlags(rng), mem: [data], undefinedFlags };
  },
};
