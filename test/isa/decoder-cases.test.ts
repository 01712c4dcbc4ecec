// Hard decoding cases, with expected values worked by hand from the Intel
// manual (volume 2, tables 2-2 and 2-3) and checked against nasm.
import { describe, expect, it } from 'vitest';
import type { Operand } from '../../model/isa/ast';
import { decode } from '../../model/isa/decoder';
import { encode } from '../../model/isa/encoder';
import { instructionInfo, instructionInfoOf } from '../../model/isa/instruction-info';
import { buildInstruction, parseMnemonic } from '../../model/isa/mnemonics';
import { CF, OF, ZF, SF, AF, PF } from '../../model/isa/flags';

const bytes = (hex: string): number[] => hex.match(/../g)!.map((h) => parseInt(h, 16));
const ok = (hex: string) => {
  const r = decode(bytes(hex));
  if (r.kind !== 'ok') throw new Error(`${hex}: ${JSON.stringify(r)}`);
  return r;
};
const mem = (base: number | null, index: number | null, scale: 1 | 2 | 4 | 8, disp: number, size: 0 | 8 | 16 | 32 = 32): Operand =>
  ({ kind: 'mem', size, base, index, scale, disp });
const EAX: Operand = { kind: 'reg', size: 32, reg: 0 };

describe('memory operands', () => {
  it('[ENC.MEM.1] mod 00 r/m 101 is an absolute disp32: 8B 05 78 56 34 12 = mov eax, [0x12345678]', () => {
    expect(ok('8b0578563412').instruction.operands).toEqual([EAX, mem(null, null, 1, 0x12345678)]);
  });
  it('[ENC.MEM.2] r/m 100 needs a SIB: 8B 04 24 = mov eax, [esp]; esp index (100) means none', () => {
    expect(ok('8b0424').instruction.operands[1]).toEqual(mem(4, null, 1, 0));
    expect(encode(ok('8b0424').instruction)).toEqual(Uint8Array.from(bytes('8b0424')));
  });
  it('[ENC.MEM.4] SIB index 100 with a scale still means no index, scale recorded as 1: 8B 04 E0', () => {
    expect(ok('8b04e0').instruction.operands[1]).toEqual(mem(0, null, 1, 0));
  });
  it('[ENC.MEM.3] SIB with base 101 and mod 00 has no base: 8B 04 8D 10 00 00 00 = mov eax, [ecx*4+0x10]', () => {
    const r = ok('8b048d10000000');
    expect(r.length).toBe(7);
    expect(r.instruction.operands[1]).toEqual(mem(null, 1, 4, 0x10));
  });
  it('[ENC.MEM.3] [ebp] is mod 01 with disp8 0 (8B 45 00), and 8B 44 AD F0 = mov eax, [ebp+ebp*4-0x10]', () => {
    expect(encode({ mnemonic: 'mov', operands: [EAX, mem(5, null, 1, 0)], operandSize: 32, segment: null, rep: null, lock: false }))
      .toEqual(Uint8Array.from(bytes('8b4500')));
    expect(ok('8b44adf0').instruction.operands[1]).toEqual(mem(5, 5, 4, 0xfffffff0));
  });
  it('[ENC.CHOICE.3] a disp8 is sign-extended: 8B 40 80 = mov eax, [eax-0x80]', () => {
    expect(ok('8b4080').instruction.operands[1]).toEqual(mem(0, null, 1, 0xffffff80));
  });
});

describe('prefixes', () => {
  it('[ENC.PREFIX.1] [ENC.PREFIX.2] prefixes in any order, the last segment override wins', () => {
    const r = ok('2e6466368b00');
    expect(r.length).toBe(6);
    expect(r.instruction.segment).toBe('ss');
    expect(r.instruction.operandSize).toBe(16);
    expect(r.instruction.operands[0]).toEqual({ kind: 'reg', size: 16, reg: 0 });
  });
  it('[ENC.PREFIX.3] [ENC.MEM16.1] 0x67 gives 16-bit addressing (bytes as nasm writes them), and is recorded on strings, LOOP, JCXZ, XLAT', () => {
    // nasm: `mov eax, [bx+si+4]` = 67 8B 40 04; `mov eax, [bp]` = 67 8B 46 00; `mov eax, [bp+di+0x1234]` = 67 8B 83 34 12;
    // `a16 mov eax, [0x1234]` = 67 A1 34 12; `mov eax, [di-128]` = 67 8B 45 80.
    expect(ok('678b4004').instruction).toMatchObject({ addressSize: 16, operands: [EAX, { kind: 'mem', base: 3, index: 6, disp: 4 }] });
    expect(ok('678b4600').instruction.operands[1]).toMatchObject({ base: 5, index: null, disp: 0 });
    expect(decode(bytes('678b833412'))).toMatchObject({ kind: 'ok', length: 5, instruction: { operands: [EAX, { base: 5, index: 7, disp: 0x1234 }] } });
    expect(decode(bytes('67a13412'))).toMatchObject({ kind: 'ok', length: 4, instruction: { operands: [EAX, { base: null, disp: 0x1234 }] } });
    expect(ok('678b4580').instruction.operands[1]).toMatchObject({ base: 7, disp: 0xff80 });
    for (const hex of ['678b4004', '678b4600', '678b833412', '67a13412', '678b4580', '66678b00', 'f0670107']) {
      expect(Buffer.from(encode(ok(hex).instruction)).toString('hex')).toBe(hex);
    }
    // Without a memory operand the prefix changes nothing and is not recorded.
    expect(ok('6701c0').instruction.addressSize).toBeUndefined();
    // [INS.ADDR16.1] nasm: `a16 movsb` = 67 A4, `loop $, cx` = 67 E2 FD, `jcxz $` = 67 E3 FD,
    // `a16 xlatb` = 67 D7, `rep a16 stosd` = F3 67 AB, `fs a16 lodsw` = 64 66 67 AD.
    for (const hex of ['67a4', '67e2fd', '67e3fd', '67d7', 'f367ab', '646667ad']) {
      const decoded = ok(hex);
      expect([hex, decoded.instruction.addressSize, decoded.length]).toEqual([hex, 16, hex.length / 2]);
      expect(Buffer.from(encode(decoded.instruction)).toString('hex')).toBe(hex);
    }
    expect(ok('67e3fd').instruction.mnemonic).toBe('jecxz');
    expect(ok('646667ad').instruction).toMatchObject({ mnemonic: 'lods', segment: 'fs', elementSize: 16 });
  });
  it('[ENC.PREFIX.4] the encoder writes LOCK/REP, then the segment, then 66 (as nasm: F3 64 66 A5)', () => {
    const r = ok('6466f3a5');
    expect(encode(r.instruction)).toEqual(Uint8Array.from(bytes('f36466a5')));
  });
  it('[ENC.PREFIX.5] LOCK on a memory destination is fine, on a register or a non-lockable instruction #UD', () => {
    expect(ok('f00108').instruction.lock).toBe(true);
    expect(decode(bytes('f001c8'))).toEqual({ kind: 'undefined', length: 3 });
    expect(decode(bytes('f08b00'))).toEqual({ kind: 'undefined', length: 3 });
  });
  it('[ENC.PREFIX.6] F3 before CMPS is repe, F2 is repne; F3 before ADD is ignored; F3 90 is PAUSE', () => {
    expect(ok('f3a6').instruction.rep).toBe('repe');
    expect(ok('f3a4').instruction.rep).toBe('rep');
    expect(ok('f2a4').instruction.rep).toBe('repne');
    expect(ok('f301c0').instruction.rep).toBe(null);
    // F2/F3 before a 0F opcode that is not an SSE one: ignored (F3 0F A2 is CPUID, F2 0F BC is BSF).
    expect(ok('f30fa2').instruction.mnemonic).toBe('cpuid');
    expect(ok('f20fbcc3').instruction).toEqual(ok('0fbcc3').instruction);
  });
  it('[ENC.NOP.1] F3 90 is PAUSE (nasm writes `pause` and `rep nop` as F3 90; objdump reads it as pause)', () => {
    expect(ok('f390').instruction.mnemonic).toBe('pause');
    expect(ok('f390').instruction.rep).toBe(null);
    expect(ok('f290').instruction.mnemonic).toBe('nop');
    expect(encode(ok('f390').instruction)).toEqual(Uint8Array.from(bytes('f390')));
  });
  it('[ENC.PREFIX.8] F3 0F BC/BD are TZCNT/LZCNT (66 before F3, as nasm writes `tzcnt ax, bx`)', () => {
    expect(ok('f30fbcc3').instruction.mnemonic).toBe('tzcnt');
    expect(ok('f30fbd08').instruction.mnemonic).toBe('lzcnt');
    expect(ok('66f30fbcc3').instruction.operands).toEqual([{ kind: 'reg', size: 16, reg: 0 }, { kind: 'reg', size: 16, reg: 3 }]);
    expect(encode(ok('66f30fbcc3').instruction)).toEqual(Uint8Array.from(bytes('66f30fbcc3')));
    // F3 before 0F B8 is POPCNT, which this CPU lacks: #UD like the bare 0F B8.
    expect(decode(bytes('f30fb8c0'))).toEqual({ kind: 'undefined', length: 3 });
  });
  it('[ENC.NOP.2] 0F 1F /0 is the multi-byte NOP; 0F 18..0F 1F /digit are hint NOPs with an r/m operand', () => {
    // nasm: `nop dword [eax]` = 0F 1F 00, `hint_nop0 dword [eax]` = 0F 18 00, `hint_nop63 eax` = 0F 1F F8.
    expect(ok('0f1f00').instruction).toMatchObject({ mnemonic: 'nop', operands: [{ kind: 'mem', size: 32, base: 0 }] });
    expect(ok('0f1800').instruction.mnemonic).toBe('hint_nop0');
    expect(ok('0f1ff8').instruction.mnemonic).toBe('hint_nop63');
    expect(decode(bytes('0f1f8400000000000000'))).toMatchObject({ kind: 'ok', length: 8 });
  });
  it('[ENC.PREFIX.7] a segment override without a memory operand is dropped', () => {
    expect(ok('2690').instruction.segment).toBe(null);
    expect(ok('64a1ffffffff').instruction.segment).toBe('fs');
  });
});

describe('length limit and truncation', () => {
  it('[ENC.LENGTH.1] a 15-byte instruction decodes; bytes that run out are truncated', () => {
    // 4 prefixes + 81 /0 with ModRM 84, SIB 24, disp32, imm32 = 4 + 1 + 1 + 1 + 4 + 4 = 15 bytes.
    const r = decode(bytes('26262626' + '81842478563412' + '78563412'));
    expect(r).toMatchObject({ kind: 'ok', length: 15 });
    expect(decode(bytes('8184247856'))).toEqual({ kind: 'truncated', needed: 6 });
  });
  it('[ENC.LENGTH.2] a sixteenth byte is #GP (too-long), even when the bytes run out there', () => {
    expect(decode(bytes('2626262626' + '81842478563412' + '78563412'))).toEqual({ kind: 'too-long' });
    expect(decode(bytes('66'.repeat(15)))).toEqual({ kind: 'too-long' });
  });
});

describe('#UD versus unsupported', () => {
  it('[ENC.UD.1] unassigned group slots are #UD: FF /7, FE /2, 0F BA /0', () => {
    expect(decode(bytes('ff38'))).toEqual({ kind: 'undefined', length: 2 });
    expect(decode(bytes('fe10'))).toEqual({ kind: 'undefined', length: 2 });
    expect(decode(bytes('0fbae005')).kind).toBe('ok');
    expect(decode(bytes('0fbac0'))).toEqual({ kind: 'undefined', length: 3 });
    // UD1 takes a ModRM (and displacement): `ud1 eax, [eax+0x12345678]` is 7 bytes, decoded as ud1.
    expect(decode(bytes('0fb98078563412'))).toMatchObject({ kind: 'ok', length: 7, instruction: { mnemonic: 'ud1' } });
    expect(decode(bytes('0fff'))).toEqual({ kind: 'undefined', length: 2 });
  });
  it('[ENC.UD.4] opcodes of extensions this CPU lacks are #UD with or without prefixes: MMX, SSE, FXSAVE, SYSCALL', () => {
    for (const hex of ['0f6fc0', '660f6fc0', 'f30f10c0', '0fae00', '0f05', '0f3800c0', '0f0d00', '0faa'])
      expect([hex, decode(bytes(hex)).kind]).toEqual([hex, 'undefined']);
  });
  it('[ENC.UD.2] a register where memory is required is #UD: lea eax, ecx (8D C1), lgdt with mod 11', () => {
    expect(decode(bytes('8dc1'))).toEqual({ kind: 'undefined', length: 2 });
    expect(decode(bytes('ffd8'))).toEqual({ kind: 'undefined', length: 2 });
    // 0F 01 with mod 11 (MONITOR, VMCALL, XGETBV, ... on later CPUs): #UD here, CPUID reports none of them.
    expect(decode(bytes('0f01d0'))).toEqual({ kind: 'undefined', length: 3 });
  });
  it('[ENC.UD.3] mov to CR1 and mov to CS are #UD; mov cr0, eax ignores mod', () => {
    expect(decode(bytes('0f22c8'))).toEqual({ kind: 'undefined', length: 3 });
    expect(decode(bytes('8ec8'))).toEqual({ kind: 'undefined', length: 2 });
    expect(ok('0f2200').instruction.operands).toEqual([{ kind: 'creg', reg: 0 }, EAX]);
  });
  it('[ENC.UNSUPPORTED.1] valid instructions outside the model are a model error naming the instruction: RDPMC, SALC', () => {
    const reason = (hex: string) => { const r = decode(bytes(hex)); return r.kind === 'unsupported' ? r.reason : r.kind; };
    expect(reason('0f33')).toMatch(/^RDPMC/);
    expect(reason('d6')).toMatch(/^SALC/);
    // MOV DRn is modelled (SYS.DR.1): 0F 21 C0 is mov eax, dr0.
    expect(ok('0f21c0').instruction.operands).toEqual([EAX, { kind: 'dreg', reg: 0 }]);
  });
});

describe('immediates and canonical forms', () => {
  it('[ENC.IMM.1] 83 C0 FF and 81 C0 FF FF FF FF are the same AST; the encoder picks the short one', () => {
    const short = ok('83c0ff').instruction;
    expect(ok('81c0ffffffff').instruction).toEqual(short);
    expect(short.operands[1]).toEqual({ kind: 'imm', size: 32, value: 0xffffffff });
    expect(encode(short)).toEqual(Uint8Array.from(bytes('83c0ff')));
  });
  it('[ENC.CHOICE.2] add ax, 1 is 66 83 C0 01 and add al, 1 is 04 01 (as nasm)', () => {
    expect(encode(ok('66050100').instruction)).toEqual(Uint8Array.from(bytes('6683c001')));
    expect(encode(ok('80c001').instruction)).toEqual(Uint8Array.from(bytes('0401')));
  });
  it('[ENC.CHOICE.2] xchg ecx, edx is 87 CA (reg first, as nasm); xchg eax, eax is 90 and 87 C0 decodes to it', () => {
    expect(ok('87ca').instruction.operands).toEqual([{ kind: 'reg', size: 32, reg: 1 }, { kind: 'reg', size: 32, reg: 2 }]);
    expect(encode(ok('87c0').instruction)).toEqual(Uint8Array.from([0x90]));
    expect(ok('90').instruction.mnemonic).toBe('nop');
  });
  it('[ENC.CHOICE.4] jcc rel8 and rel32 keep their width', () => {
    expect(ok('74fe').instruction.operands).toEqual([{ kind: 'rel', size: 8, offset: -2 }]);
    expect(ok('0f84faffffff').instruction).toMatchObject({ mnemonic: 'jcc', condition: 4, operands: [{ kind: 'rel', size: 32, offset: -6 }] });
  });
});

describe('mnemonic helpers and instruction info', () => {
  it('parses NASM spellings', () => {
    expect(parseMnemonic('jz')).toEqual({ mnemonic: 'jcc', condition: 4, operandSize: null });
    expect(parseMnemonic('movsd')).toEqual({ mnemonic: 'movs', elementSize: 32, operandSize: 32 });
    expect(parseMnemonic('iretd')).toEqual({ mnemonic: 'iret', operandSize: 32 });
    expect(parseMnemonic('cdq')).toEqual({ mnemonic: 'cwd', operandSize: 32 });
    expect(parseMnemonic('frobnicate')).toBe(null);
  });
  it('builds instructions from parsed operands, choosing short branches when in reach', () => {
    const r = buildInstruction('jne', [{ kind: 'target', address: 0x1010, size: null }], {}, 0x1000);
    expect(r.kind === 'ok' && encode(r.instruction)).toEqual(Uint8Array.from(bytes('750e')));
    const far = buildInstruction('jne', [{ kind: 'target', address: 0x2000, size: null }], {}, 0x1000);
    expect(far.kind === 'ok' && encode(far.instruction)).toEqual(Uint8Array.from(bytes('0f85fa0f0000')));
    const bad = buildInstruction('inc', [{ kind: 'mem', size: null, base: 0, index: null, scale: 1, disp: 0, segment: null }]);
    expect(bad.kind).toBe('error');
  });
  it('classifies and gives flag masks', () => {
    expect(instructionInfo('hlt').class).toBe('privileged');
    expect(instructionInfo('sgdt').class).toBe('sensitive');
    expect(instructionInfo('cli').class).toBe('iopl');
    expect(instructionInfo('add').flagsWritten).toBe(OF | SF | ZF | AF | PF | CF);
    expect(instructionInfo('and').flagsUndefined).toBe(AF);
    expect(instructionInfoOf(ok('0f20c0').instruction).class).toBe('privileged');
    expect(instructionInfoOf(ok('8ed8').instruction).class).toBe('sensitive');
    expect(instructionInfoOf(ok('7400').instruction).flagsRead).toBe(ZF);
  });
});
