// The opcode map, as data: every encoding form of every instruction mesovirt
// models (DESIGN.md §3). The decoder, encoder, disassembler, the assembler's
// mnemonic parsing and the property arbitraries are all derived from FORMS;
// nothing else lists opcodes. What each mnemonic does to EFLAGS and whether
// it traps at CPL > 0 is in instruction-info.ts.
//
// A form is written `form(mnemonic, encoding, operands, options)`:
//   encoding: opcode bytes in hex, then `/r` (ModRM, reg field holds a G/S/C
//     operand), `/0`..`/7` (ModRM, reg field is an opcode extension),
//     `+r` (register number added to the last opcode byte) or `+cc`
//     (condition number added to the last opcode byte).
//   operands: OperandSpec letters separated by commas (see operand-spec.ts),
//     in the order the AST and NASM write them. Immediates are encoded in
//     this order after any displacement.
// Forms of one mnemonic are listed in the order nasm prefers them: when two
// forms encode an instruction in the same number of bytes, the encoder takes
// the first one [ENC.CHOICE.2].

import type { OperandSpec } from './operand-spec';
import { MODRM_SPECS } from './operand-spec';

export interface Form {
  readonly mnemonic: string;
  /** Opcode bytes; for +r/+cc forms the last byte is the base value. */
  readonly opcode: readonly number[];
  readonly modrm: boolean;
  /** ModRM reg-field opcode extension (/digit), or null. */
  readonly digit: number | null;
  /** Last opcode byte carries a register number (+r) or a condition (+cc). */
  readonly low: 'reg' | 'cond' | null;
  readonly operands: readonly OperandSpec[];
  /** For string instructions: element size, 8 or the operand size. */
  readonly element: 8 | 'v' | null;
  /** LOCK is allowed when the destination is memory. */
  readonly lockable: boolean;
  /** Decoded, never chosen by the encoder (an alias such as 82 for 80, or
   * SAL /6 for SHL /4). */
  readonly decodeOnly: boolean;
  /** Chosen by the encoder but decodes to another canonical AST (XCHG r32, EAX). */
  readonly encodeOnly: boolean;
  /** The +r form does not exist for register 0 (90 is NOP, not XCHG EAX, EAX). */
  readonly notRegister0: boolean;
  /** The reg field of ModRM is ignored (SETcc). */
  readonly regFieldIgnored: boolean;
  /** The form exists only with mod 11 (x87 register forms). */
  readonly registerOnly: boolean;
  /** The whole ModRM byte is part of the opcode (x87 `D9 E0` FCHS), or null. */
  readonly modrmByte: number | null;
  /** A mandatory prefix that is part of the opcode (F3 90 PAUSE, F3 0F BC
   * TZCNT), or null. The decoder looks such a form up only when the prefix
   * is present; the encoder writes it right before the opcode. */
  readonly prefix: number | null;
  /** The instruction addresses memory through a segment without a ModRM
   * memory operand (XLAT reads DS:[EBX + AL]), so a segment override counts. */
  readonly implicitMemory: boolean;
}

interface FormOptions {
  element?: 8 | 'v';
  lock?: boolean;
  decodeOnly?: boolean;
  encodeOnly?: boolean;
  notRegister0?: boolean;
  regFieldIgnored?: boolean;
  prefix?: number;
  implicitMemory?: boolean;
  registerOnly?: boolean;
  modrmByte?: number;
}

function form(mnemonic: string, encoding: string, operands: string, options: FormOptions = {}): Form {
  const parts = encoding.split(' ');
  const opcode: number[] = [];
  let digit: number | null = null;
  let low: Form['low'] = null;
  let modrm = false;
  for (const part of parts) {
    if (part === '/r') modrm = true;
    else if (/^\/[0-7]$/.test(part)) { modrm = true; digit = Number(part[1]); }
    else if (part === '+r') low = 'reg';
    else if (part === '+cc') low = 'cond';
    else opcode.push(parseInt(part, 16));
  }
  const specs = operands === '' ? [] : (operands.split(',') as OperandSpec[]);
  if (!modrm && (specs.some((s) => MODRM_SPECS.has(s)) || options.modrmByte !== undefined)) modrm = true;
  return {
    mnemonic, opcode, modrm, digit, low, operands: specs,
    element: options.element ?? null,
    lockable: options.lock ?? false,
    decodeOnly: options.decodeOnly ?? false,
    encodeOnly: options.encodeOnly ?? false,
    notRegister0: options.notRegister0 ?? false,
    regFieldIgnored: options.regFieldIgnored ?? false,
    prefix: options.prefix ?? null,
    registerOnly: options.registerOnly ?? false,
    modrmByte: options.modrmByte ?? null,
    implicitMemory: options.implicitMemory ?? false,
  };
}

const LOCK = { lock: true } as const;
const ALIAS = { decodeOnly: true } as const;

/** The eight classic ALU operations share one layout: opcode base 8*n, /n. */
function aluForms(mnemonic: string, n: number, lockable: boolean): Form[] {
  const base = (n * 8).toString(16);
  const at = (k: number) => (n * 8 + k).toString(16);
  const lk = lockable ? LOCK : {};
  return [
    form(mnemonic, `${base} /r`, 'Eb,Gb', lk),
    form(mnemonic, `${at(1)} /r`, 'Ev,Gv', lk),
    form(mnemonic, `${at(2)} /r`, 'Gb,Eb'),
    form(mnemonic, `${at(3)} /r`, 'Gv,Ev'),
    form(mnemonic, `${at(4)}`, 'AL,Ib'),
    form(mnemonic, `80 /${n}`, 'Eb,Ib', lk),
    form(mnemonic, `82 /${n}`, 'Eb,Ib', { ...lk, ...ALIAS }),
    form(mnemonic, `83 /${n}`, 'Ev,Ibs', lk),
    form(mnemonic, `${at(5)}`, 'eAX,Iv'),
    form(mnemonic, `81 /${n}`, 'Ev,Iv', lk),
  ];
}

/** Rotates and shifts: C0/C1 by imm8, D0/D1 by one, D2/D3 by CL. */
function shiftForms(mnemonic: string, n: number, options: FormOptions = {}): Form[] {
  return [
    form(mnemonic, `d0 /${n}`, 'Eb,One', options),
    form(mnemonic, `d1 /${n}`, 'Ev,One', options),
    form(mnemonic, `c0 /${n}`, 'Eb,Ib', options),
    form(mnemonic, `c1 /${n}`, 'Ev,Ib', options),
    form(mnemonic, `d2 /${n}`, 'Eb,CL', options),
    form(mnemonic, `d3 /${n}`, 'Ev,CL', options),
  ];
}

/**
 * The hint NOPs 0F 18..0F 1F /0../7 with an r/m operand [ENC.NOP.2]: nasm
 * calls them hint_nop0..hint_nop63 (number = 8 × (opcode − 0x18) + digit),
 * except 0F 1F /0, which is the multi-byte NOP (`nop r/m`, its own form).
 */
function hintNopForms(): Form[] {
  const forms: Form[] = [];
  for (let n = 0; n < 64; n++) {
    if (n === 56) continue;
    forms.push(form(`hint_nop${n}`, `0f ${(0x18 + (n >> 3)).toString(16)} /${n & 7}`, 'Ev'));
  }
  return forms;
}

/**
 * [ENC.X87.1] The x87 escapes D8..DF as the SDM's opcode map (vol. 2,
 * appendix A.4) lays them out, with nasm's mnemonics. Memory forms are
 * chosen by ModRM.reg; register forms (mod 11) by reg, or by the whole ModRM
 * byte where the map lists single instructions. A slot the map leaves empty
 * (and the SSE3 FISTTP at DB/DD/DF /1) has no form: #UD.
 */
function x87Forms(): Form[] {
  const forms: Form[] = [];
  const memory = (opcode: string, names: readonly (string | null)[], specs: readonly string[]) =>
    names.forEach((name, reg) => { if (name !== null) forms.push(form(name, `${opcode} /${reg}`, specs[reg]!)); });
  const register = (opcode: string, names: readonly (string | null)[], operands: string) =>
    names.forEach((name, reg) => { if (name !== null) forms.push(form(name, `${opcode} /${reg}`, operands, { registerOnly: true })); });
  const single = (opcode: string, modrm: number, name: string, operands = '') =>
    forms.push(form(name, opcode, operands, { modrmByte: modrm }));
  const arith = ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'];
  const integer = ['fiadd', 'fimul', 'ficom', 'ficomp', 'fisub', 'fisubr', 'fidiv', 'fidivr'];
  memory('d8', arith, Array(8).fill('Md'));
  memory('d9', ['fld', null, 'fst', 'fstp', 'fldenv', 'fldcw', 'fnstenv', 'fnstcw'], ['Md', '', 'Md', 'Md', 'M', 'Mw', 'M', 'Mw']);
  memory('da', integer, Array(8).fill('Md'));
  memory('db', ['fild', null, 'fist', 'fistp', null, 'fld', null, 'fstp'], ['Md', '', 'Md', 'Md', '', 'Mt', '', 'Mt']);
  memory('dc', arith, Array(8).fill('Mq'));
  memory('dd', ['fld', null, 'fst', 'fstp', 'frstor', null, 'fnsave', 'fnstsw'], ['Mq', '', 'Mq', 'Mq', 'M', '', 'M', 'Mw']);
  memory('de', integer, Array(8).fill('Mw'));
  memory('df', ['fild', null, 'fist', 'fistp', 'fbld', 'fild', 'fbstp', 'fistp'], ['Mw', '', 'Mw', 'Mw', 'Mt', 'Mq', 'Mt', 'Mq']);
  // nasm writes `fadd st0, st0` (either form fits) with DC, so the DC register forms come first [ENC.CHOICE.2].
  register('dc', ['fadd', 'fmul', null, null, 'fsubr', 'fsub', 'fdivr', 'fdiv'], 'STi,ST0');
  register('d8', ['fadd', 'fmul', null, null, 'fsub', 'fsubr', 'fdiv', 'fdivr'], 'ST0,STi');
  register('d8', [null, null, 'fcom', 'fcomp', null, null, null, null], 'STi');
  register('d9', ['fld', 'fxch', null, null, null, null, null, null], 'STi');
  single('d9', 0xd0, 'fnop');
  ([[0xe0, 'fchs'], [0xe1, 'fabs'], [0xe4, 'ftst'], [0xe5, 'fxam'], [0xe8, 'fld1'], [0xe9, 'fldl2t'], [0xea, 'fldl2e'],
    [0xeb, 'fldpi'], [0xec, 'fldlg2'], [0xed, 'fldln2'], [0xee, 'fldz'], [0xf0, 'f2xm1'], [0xf1, 'fyl2x'], [0xf2, 'fptan'],
    [0xf3, 'fpatan'], [0xf4, 'fxtract'], [0xf5, 'fprem1'], [0xf6, 'fdecstp'], [0xf7, 'fincstp'], [0xf8, 'fprem'],
    [0xf9, 'fyl2xp1'], [0xfa, 'fsqrt'], [0xfb, 'fsincos'], [0xfc, 'frndint'], [0xfd, 'fscale'], [0xfe, 'fsin'],
    [0xff, 'fcos']] as const).forEach(([modrm, name]) => single('d9', modrm, name));
  register('da', ['fcmovb', 'fcmove', 'fcmovbe', 'fcmovu', null, null, null, null], 'ST0,STi');
  single('da', 0xe9, 'fucompp');
  register('db', ['fcmovnb', 'fcmovne', 'fcmovnbe', 'fcmovnu', null, 'fucomi', 'fcomi', null], 'ST0,STi');
  ([[0xe0, 'fneni'], [0xe1, 'fndisi'], [0xe2, 'fnclex'], [0xe3, 'fninit'], [0xe4, 'fsetpm']] as const)
    .forEach(([modrm, name]) => single('db', modrm, name));
  register('dd', ['ffree', null, 'fst', 'fstp', 'fucom', 'fucomp', null, null], 'STi');
  register('de', ['faddp', 'fmulp', null, null, 'fsubrp', 'fsubp', 'fdivrp', 'fdivp'], 'STi,ST0');
  single('de', 0xd9, 'fcompp');
  single('df', 0xe0, 'fnstsw', 'AX');
  // FFREEP (DF C0+i): documented by AMD, executed by Intel processors too; nasm and objdump know it.
  register('df', ['ffreep', null, null, null, null, null, null, null], 'STi');
  register('df', [null, null, null, null, null, 'fucomip', 'fcomip', null], 'ST0,STi');
  return forms;
}

/** String instructions: one byte-element form and one operand-size form. */
function stringForms(mnemonic: string, byteOpcode: number): Form[] {
  return [
    form(mnemonic, byteOpcode.toString(16), '', { element: 8 }),
    form(mnemonic, (byteOpcode + 1).toString(16), '', { element: 'v' }),
  ];
}

export const FORMS: readonly Form[] = [
  // Data movement.
  form('mov', '88 /r', 'Eb,Gb'),
  form('mov', '89 /r', 'Ev,Gv'),
  form('mov', '8a /r', 'Gb,Eb'),
  form('mov', '8b /r', 'Gv,Ev'),
  form('mov', '8c /r', 'Esv,Sw'),
  form('mov', '8e /r', 'Sw,Esv'),
  form('mov', 'a0', 'AL,Ob'),
  form('mov', 'a1', 'eAX,Ov'),
  form('mov', 'a2', 'Ob,AL'),
  form('mov', 'a3', 'Ov,eAX'),
  form('mov', 'b0 +r', 'Zb,Ib'),
  form('mov', 'b8 +r', 'Zv,Iv'),
  form('mov', 'c6 /0', 'Eb,Ib'),
  form('mov', 'c7 /0', 'Ev,Iv'),
  form('mov', '0f 20 /r', 'Rd,Cd'),
  form('mov', '0f 22 /r', 'Cd,Rd'),
  form('mov', '0f 21 /r', 'Rd,Dd'),
  form('mov', '0f 23 /r', 'Dd,Rd'),
  form('movzx', '0f b6 /r', 'Gv,Eb'),
  form('movzx', '0f b7 /r', 'Gv,Ew'),
  form('movsx', '0f be /r', 'Gv,Eb'),
  form('movsx', '0f bf /r', 'Gv,Ew'),
  form('nop', '90', ''),
  // [ENC.NOP.1] F3 90 is PAUSE; on this machine it does what NOP does.
  form('pause', '90', '', { prefix: 0xf3 }),
  // [ENC.NOP.2] The multi-byte NOP and the other hint NOPs: an r/m operand
  // that is decoded but never accessed.
  form('nop', '0f 1f /0', 'Ev'),
  ...hintNopForms(),
  form('xlat', 'd7', '', { implicitMemory: true }),

  // The x87 escapes and WAIT: decoded in full, run as on a CPU without a coprocessor (SYS.FPU.*).
  form('wait', '9b', ''),
  ...x87Forms(),

  form('xchg', '90 +r', 'eAX,Zv', { notRegister0: true }),
  form('xchg', '90 +r', 'Zv,eAX', { notRegister0: true, encodeOnly: true }),
  // nasm writes XCHG EAX, EAX as 90, the byte that decodes as NOP.
  form('xchg', '90', 'eAX,eAX', { encodeOnly: true }),
  form('xchg', '86 /r', 'Gb,Eb', LOCK),
  form('xchg', '87 /r', 'Gv,Ev', LOCK),
  form('push', '50 +r', 'Zv'),
  form('push', '6a', 'Ibs'),
  form('push', '68', 'Iv'),
  form('push', 'ff /6', 'Ev'),
  form('push', '06', 'ES'),
  form('push', '0e', 'CS'),
  form('push', '16', 'SS'),
  form('push', '1e', 'DS'),
  form('push', '0f a0', 'FS'),
  form('push', '0f a8', 'GS'),
  form('pop', '58 +r', 'Zv'),
  form('pop', '8f /0', 'Ev'),
  form('pop', '07', 'ES'),
  form('pop', '17', 'SS'),
  form('pop', '1f', 'DS'),
  form('pop', '0f a1', 'FS'),
  form('pop', '0f a9', 'GS'),
  form('pusha', '60', ''),
  form('popa', '61', ''),
  form('lea', '8d /r', 'Gv,M'),
  form('cbw', '98', ''),
  form('cwd', '99', ''),
  form('lahf', '9f', ''),
  form('sahf', '9e', ''),
  form('bswap', '0f c8 +r', 'Zd'),
  form('xadd', '0f c0 /r', 'Eb,Gb', LOCK),
  form('xadd', '0f c1 /r', 'Ev,Gv', LOCK),
  form('cmpxchg', '0f b0 /r', 'Eb,Gb', LOCK),
  form('cmpxchg', '0f b1 /r', 'Ev,Gv', LOCK),
  form('cmpxchg8b', '0f c7 /1', 'Mq', LOCK),
  // Far-pointer loads: offset into the register, selector into the segment register.
  form('lds', 'c5 /r', 'Gv,Mf'),
  form('les', 'c4 /r', 'Gv,Mf'),
  form('lfs', '0f b4 /r', 'Gv,Mf'),
  form('lgs', '0f b5 /r', 'Gv,Mf'),
  form('lss', '0f b2 /r', 'Gv,Mf'),

  // Arithmetic and logic.
  ...aluForms('add', 0, true),
  ...aluForms('or', 1, true),
  ...aluForms('adc', 2, true),
  ...aluForms('sbb', 3, true),
  ...aluForms('and', 4, true),
  ...aluForms('sub', 5, true),
  ...aluForms('xor', 6, true),
  ...aluForms('cmp', 7, false),
  form('inc', '40 +r', 'Zv'),
  form('inc', 'fe /0', 'Eb', LOCK),
  form('inc', 'ff /0', 'Ev', LOCK),
  form('dec', '48 +r', 'Zv'),
  form('dec', 'fe /1', 'Eb', LOCK),
  form('dec', 'ff /1', 'Ev', LOCK),
  form('neg', 'f6 /3', 'Eb', LOCK),
  form('neg', 'f7 /3', 'Ev', LOCK),
  form('not', 'f6 /2', 'Eb', LOCK),
  form('not', 'f7 /2', 'Ev', LOCK),
  form('test', '84 /r', 'Eb,Gb'),
  form('test', '85 /r', 'Ev,Gv'),
  form('test', 'a8', 'AL,Ib'),
  form('test', 'a9', 'eAX,Iv'),
  form('test', 'f6 /0', 'Eb,Ib'),
  form('test', 'f6 /1', 'Eb,Ib', ALIAS),
  form('test', 'f7 /0', 'Ev,Iv'),
  form('test', 'f7 /1', 'Ev,Iv', ALIAS),

  // Shifts and rotates.
  ...shiftForms('rol', 0),
  ...shiftForms('ror', 1),
  ...shiftForms('rcl', 2),
  ...shiftForms('rcr', 3),
  ...shiftForms('shl', 4),
  ...shiftForms('shr', 5),
  ...shiftForms('shl', 6, ALIAS),
  ...shiftForms('sar', 7),
  form('shld', '0f a4 /r', 'Ev,Gv,Ib'),
  form('shld', '0f a5 /r', 'Ev,Gv,CL'),
  form('shrd', '0f ac /r', 'Ev,Gv,Ib'),
  form('shrd', '0f ad /r', 'Ev,Gv,CL'),

  // Multiply and divide.
  form('mul', 'f6 /4', 'Eb'),
  form('mul', 'f7 /4', 'Ev'),
  form('imul', 'f6 /5', 'Eb'),
  form('imul', 'f7 /5', 'Ev'),
  form('imul', '0f af /r', 'Gv,Ev'),
  form('imul', '6b /r', 'Gv,Ev,Ibs'),
  form('imul', '69 /r', 'Gv,Ev,Iv'),
  form('div', 'f6 /6', 'Eb'),
  form('div', 'f7 /6', 'Ev'),
  form('idiv', 'f6 /7', 'Eb'),
  form('idiv', 'f7 /7', 'Ev'),

  // Decimal arithmetic.
  form('daa', '27', ''),
  form('das', '2f', ''),
  form('aaa', '37', ''),
  form('aas', '3f', ''),
  form('aam', 'd4', 'Ib'),
  form('aad', 'd5', 'Ib'),

  // Bit operations.
  form('bt', '0f a3 /r', 'Ev,Gv'),
  form('bt', '0f ba /4', 'Ev,Ib'),
  form('bts', '0f ab /r', 'Ev,Gv', LOCK),
  form('bts', '0f ba /5', 'Ev,Ib', LOCK),
  form('btr', '0f b3 /r', 'Ev,Gv', LOCK),
  form('btr', '0f ba /6', 'Ev,Ib', LOCK),
  form('btc', '0f bb /r', 'Ev,Gv', LOCK),
  form('btc', '0f ba /7', 'Ev,Ib', LOCK),
  form('bsf', '0f bc /r', 'Gv,Ev'),
  form('bsr', '0f bd /r', 'Gv,Ev'),
  // [ENC.PREFIX.8] F3 0F BC/BD are TZCNT and LZCNT where BMI1/ABM exist; this
  // CPU has neither and runs them as BSF and BSR.
  form('tzcnt', '0f bc /r', 'Gv,Ev', { prefix: 0xf3 }),
  form('lzcnt', '0f bd /r', 'Gv,Ev', { prefix: 0xf3 }),

  // Strings.
  ...stringForms('movs', 0xa4),
  ...stringForms('cmps', 0xa6),
  ...stringForms('stos', 0xaa),
  ...stringForms('lods', 0xac),
  ...stringForms('scas', 0xae),
  ...stringForms('ins', 0x6c),
  ...stringForms('outs', 0x6e),

  // Control transfer.
  form('jcc', '70 +cc', 'Jb'),
  form('jcc', '0f 80 +cc', 'Jv'),
  form('setcc', '0f 90 +cc', 'Eb', { regFieldIgnored: true }),
  form('cmovcc', '0f 40 +cc', 'Gv,Ev'),
  form('loop', 'e2', 'Jb'),
  form('loope', 'e1', 'Jb'),
  form('loopne', 'e0', 'Jb'),
  form('jecxz', 'e3', 'Jb'),
  form('jmp', 'eb', 'Jb'),
  form('jmp', 'e9', 'Jv'),
  form('jmp', 'ff /4', 'Ev'),
  form('call', 'e8', 'Jv'),
  form('call', 'ff /2', 'Ev'),
  form('ret', 'c3', ''),
  form('ret', 'c2', 'Iw'),
  form('jmpf', 'ea', 'Ap'),
  form('jmpf', 'ff /5', 'Mp'),
  form('callf', '9a', 'Ap'),
  form('callf', 'ff /3', 'Mp'),
  form('retf', 'cb', ''),
  form('retf', 'ca', 'Iw'),
  form('enter', 'c8', 'Iw,Ib'),
  form('leave', 'c9', ''),

  // Interrupts and exceptions.
  form('int3', 'cc', ''),
  form('int', 'cd', 'Ib'),
  form('into', 'ce', ''),
  form('int1', 'f1', ''),
  form('iret', 'cf', ''),
  form('bound', '62 /r', 'Gv,Ma'),

  // Flags and processor control.
  form('hlt', 'f4', ''),
  form('cmc', 'f5', ''),
  form('clc', 'f8', ''),
  form('stc', 'f9', ''),
  form('cli', 'fa', ''),
  form('sti', 'fb', ''),
  form('cld', 'fc', ''),
  form('std', 'fd', ''),
  form('pushf', '9c', ''),
  form('popf', '9d', ''),
  form('cpuid', '0f a2', ''),
  form('ud2', '0f 0b', ''),
  form('ud1', '0f b9 /r', 'Gv,Ev'),
  form('wbinvd', '0f 09', ''),
  form('invd', '0f 08', ''),
  form('rdtsc', '0f 31', ''),
  form('rdmsr', '0f 32', ''),
  form('wrmsr', '0f 30', ''),
  form('sysenter', '0f 34', ''),
  form('sysexit', '0f 35', ''),

  // Input and output.
  form('in', 'e4', 'AL,Ib'),
  form('in', 'e5', 'eAX,Ib'),
  form('in', 'ec', 'AL,DX'),
  form('in', 'ed', 'eAX,DX'),
  form('out', 'e6', 'Ib,AL'),
  form('out', 'e7', 'Ib,eAX'),
  form('out', 'ee', 'DX,AL'),
  form('out', 'ef', 'DX,eAX'),

  // System instructions.
  form('sldt', '0f 00 /0', 'Esv'),
  form('str', '0f 00 /1', 'Esv'),
  form('lldt', '0f 00 /2', 'Ew'),
  form('ltr', '0f 00 /3', 'Ew'),
  form('verr', '0f 00 /4', 'Ew'),
  form('verw', '0f 00 /5', 'Ew'),
  form('sgdt', '0f 01 /0', 'Ms'),
  form('sidt', '0f 01 /1', 'Ms'),
  form('lgdt', '0f 01 /2', 'Ms'),
  form('lidt', '0f 01 /3', 'Ms'),
  form('smsw', '0f 01 /4', 'Esv'),
  form('lmsw', '0f 01 /6', 'Ew'),
  form('invlpg', '0f 01 /7', 'M'),
  form('lar', '0f 02 /r', 'Gv,Esv'),
  form('lsl', '0f 03 /r', 'Gv,Esv'),
  form('arpl', '63 /r', 'Ew,Gw'),
  form('clts', '0f 06', ''),
];

/** Every mnemonic of the map, each once, in table order. */
export const MNEMONICS: readonly string[] = [...new Set(FORMS.map((f) => f.mnemonic))];

const FORMS_BY_MNEMONIC: ReadonlyMap<string, readonly Form[]> = (() => {
  const byMnemonic = new Map<string, Form[]>();
  for (const f of FORMS) {
    const list = byMnemonic.get(f.mnemonic) ?? [];
    list.push(f);
    byMnemonic.set(f.mnemonic, list);
  }
  return byMnemonic;
})();

/** The forms of a mnemonic in preference order (empty if unknown). */
export function formsOf(mnemonic: string): readonly Form[] {
  return FORMS_BY_MNEMONIC.get(mnemonic) ?? [];
}

/** Mnemonics whose condition is part of the opcode (`condition` in the AST). */
export const CONDITIONAL_MNEMONICS: ReadonlySet<string> = new Set(
  FORMS.filter((f) => f.low === 'cond').map((f) => f.mnemonic),
);

/** String mnemonics (`elementSize` in the AST). */
export const STRING_MNEMONICS: ReadonlySet<string> = new Set(
  FORMS.filter((f) => f.element !== null).map((f) => f.mnemonic),
);

/** String mnemonics whose REP prefix is a repeat-while-equal (F3) or -not-equal (F2). */
/** LOOP, LOOPE, LOOPNE and JECXZ: the branches that count in (E)CX. */
export const COUNTER_BRANCH_MNEMONICS: ReadonlySet<string> = new Set(['loop', 'loope', 'loopne', 'jecxz']);

/** [ENC.PREFIX.3] Whether a form addresses through registers of its own (the
 * string instructions, XLAT) or counts in (E)CX (LOOP, JECXZ), so that the
 * address-size prefix changes it even without a memory operand (INS.ADDR16.1). */
export const addressesImplicitly = (form: Pick<Form, 'element' | 'implicitMemory' | 'mnemonic'>): boolean =>
  form.element !== null || form.implicitMemory || COUNTER_BRANCH_MNEMONICS.has(form.mnemonic);

export const COMPARING_STRING_MNEMONICS: ReadonlySet<string> = new Set(['cmps', 'scas']);

/**
 * [ENC.UD.4] 0F-escaped opcodes with no form in the map that this CPU
 * answers with #UD, each with the reason. The machine is a Pentium-class
 * CPU whose CPUID (spec/system.md, SYS.CPUID.*) denies every later
 * extension, and the manual makes an instruction of an absent extension #UD;
 * the rest are unassigned slots or instructions removed before the Pentium.
 * Any other 0F opcode without a form is valid IA-32 that the model does not
 * implement: see ESCAPED_UNSUPPORTED.
 */
export const ESCAPED_UNDEFINED: ReadonlyMap<number, string> = (() => {
  const table = new Map<number, string>();
  const mark = (reason: string, ...opcodes: number[]) => { for (const op of opcodes) table.set(op, reason); };
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);
  mark('unassigned in the IA-32 opcode map', 0x04, 0x0a, 0x0c, 0x25, 0x27, 0x36, 0x39, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f);
  mark('UD0, undefined by definition', 0xff);
  mark('SYSCALL/SYSRET: #UD on Intel processors outside 64-bit mode', 0x05, 0x07);
  mark('PREFETCH/PREFETCHW (3DNow!): CPUID reports no 3DNow!', 0x0d);
  mark('FEMMS and the 3DNow! escape: CPUID reports no 3DNow!', 0x0e, 0x0f);
  mark('SSE: CPUID reports no SSE', ...range(0x10, 0x17), ...range(0x28, 0x2f), ...range(0x50, 0x5f), 0xc2, 0xc4, 0xc5, 0xc6);
  mark('MMX and SSE2: CPUID reports neither', ...range(0x60, 0x77), 0x7e, 0x7f, 0xc3, ...range(0xd0, 0xfe));
  mark('MOV to/from test registers: removed after the i486', 0x24, 0x26);
  mark('GETSEC: CPUID reports no SMX', 0x37);
  mark('three-byte opcode maps (SSSE3 and later): CPUID reports none', 0x38, 0x3a);
  mark('VMREAD/VMWRITE: CPUID reports no VMX', 0x78, 0x79);
  mark('SSE4a/SSE3 slots: CPUID reports neither', 0x7a, 0x7b, 0x7c, 0x7d);
  mark('CMPXCHG of early i486 steppings: removed', 0xa6, 0xa7);
  mark('RSM: #UD outside system-management mode, which this machine does not have', 0xaa);
  mark('FXSAVE/FXRSTOR/LDMXCSR/STMXCSR/fences/CLFLUSH: CPUID reports no FXSR, SSE or CLFSH', 0xae);
  mark('JMPE (Itanium) / POPCNT (needs F3 and CPUID.POPCNT, which is 0)', 0xb8);
  return table;
})();

/** [ENC.UNSUPPORTED.1] 0F-escaped opcodes that are valid IA-32 on this CPU
 * but not modelled: a model error naming the instruction, never #UD. */
export const ESCAPED_UNSUPPORTED: ReadonlyMap<number, string> = new Map([
  [0x33, 'RDPMC (the performance counters are not modelled)'],
]);

/** One-byte opcodes that are valid IA-32 on this CPU but not modelled, with the instruction's name. */
export const ONE_BYTE_UNSUPPORTED: ReadonlyMap<number, string> = new Map([
  [0xd6, 'SALC (undocumented)'],
]);

/** Every x87 mnemonic of the map (the escapes D8..DF), for the handlers that run them all alike. */
export const X87_MNEMONICS: readonly string[] = [...new Set(FORMS.filter((f) => f.opcode[0]! >= 0xd8 && f.opcode[0]! <= 0xdf).map((f) => f.mnemonic))];

/**
 * The x87 slots of the map, for impl's decoder: memory forms by
 * (opcode << 3 | reg), register forms by (opcode << 8 | ModRM).
 */
export const X87_SLOTS: { readonly memory: ReadonlySet<number>; readonly register: ReadonlySet<number> } = (() => {
  const memory = new Set<number>(), register = new Set<number>();
  for (const f of FORMS) {
    const op = f.opcode[0]!;
    if (op < 0xd8 || op > 0xdf || f.opcode.length !== 1) continue;
    if (f.modrmByte !== null) register.add((op << 8) | f.modrmByte);
    else if (f.registerOnly) for (let rm = 0; rm < 8; rm++) register.add((op << 8) | 0xc0 | (f.digit! << 3) | rm);
    else memory.add((op << 3) | f.digit!);
  }
  return { memory, register };
})();
