// The disassembler: instruction AST -> NASM text that nasm (after `bits 32`
// and `org address`) assembles back to exactly encode(instruction).

import type { Instruction, Operand } from './ast';
import { CONDITION_NAMES, SEGMENT_NAMES } from './ast';
import { encode } from './encoder';
import { COUNTER_BRANCH_MNEMONICS } from './opcodes';

const REGISTER_NAMES: Readonly<Record<8 | 16 | 32, readonly string[]>> = {
  8: ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'],
  16: ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'],
  32: ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'],
};

export function registerName(size: 8 | 16 | 32, reg: number): string {
  return REGISTER_NAMES[size][reg]!;
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

const SIZE_KEYWORD: Partial<Record<number, string>> = { 8: 'byte', 16: 'word', 32: 'dword', 64: 'qword', 80: 'tword' };

/** Mnemonics whose NASM spelling carries the operand size (so no `o16` is written). */
const SIZED_SPELLING: Readonly<Record<string, readonly [string, string]>> = {
  cbw: ['cbw', 'cwde'], cwd: ['cwd', 'cdq'], pusha: ['pushaw', 'pushad'], popa: ['popaw', 'popad'],
  pushf: ['pushfw', 'pushfd'], popf: ['popfw', 'popfd'], iret: ['iretw', 'iretd'],
};

/** Memory operands whose size follows from the mnemonic (nasm refuses a size keyword on some). */
const NO_SIZE_KEYWORD: ReadonlySet<string> = new Set(['lea', 'bound', 'invlpg', 'lgdt', 'lidt', 'sgdt', 'sidt', 'jmpf', 'callf',
  'lds', 'les', 'lfs', 'lgs', 'lss']);

const ELEMENT_LETTER: Readonly<Record<number, string>> = { 8: 'b', 16: 'w', 32: 'd' };

/** The NASM mnemonic text of an instruction (without prefixes). */
export function mnemonicText(i: Instruction): string {
  const sized = SIZED_SPELLING[i.mnemonic];
  if (sized !== undefined) return sized[i.operandSize === 16 ? 0 : 1];
  if (i.condition !== undefined) {
    const stem = { jcc: 'j', setcc: 'set', cmovcc: 'cmov' }[i.mnemonic] ?? i.mnemonic;
    return stem + CONDITION_NAMES[i.condition]!;
  }
  if (i.elementSize !== undefined) return i.mnemonic + ELEMENT_LETTER[i.elementSize]!;
  if (i.mnemonic === 'jmpf') return 'jmp';
  if (i.mnemonic === 'callf') return 'call';
  if (i.mnemonic === 'xlat') return 'xlatb';
  // [INS.ADDR16.1] JECXZ on CX is JCXZ, in nasm and objdump alike.
  if (i.mnemonic === 'jecxz' && i.addressSize === 16) return 'jcxz';
  return i.mnemonic;
}

function memoryText(m: Extract<Operand, { kind: 'mem' }>, i: Instruction): string {
  const parts: string[] = [];
  const a16 = i.addressSize === 16;
  if (m.base !== null) parts.push(registerName(a16 ? 16 : 32, m.base));
  if (m.index !== null) parts.push(a16 ? registerName(16, m.index) : `${registerName(32, m.index)}*${m.scale}`);
  let address = parts.join('+');
  const disp = a16 ? (m.disp << 16) >> 16 : m.disp | 0;
  if (parts.length === 0) address = hex(m.disp);
  else if (disp > 0) address += `+${hex(disp)}`;
  else if (disp < 0) address += `-${hex(-disp)}`;
  // Without `nosplit`, nasm rewrites [eax*2] as [eax+eax] and [eax*1] as [eax].
  const nosplit = m.base === null && m.index !== null && !a16 ? 'nosplit ' : '';
  const segment = i.segment !== null ? `${i.segment}:` : '';
  const far = i.mnemonic === 'jmpf' || i.mnemonic === 'callf' ? 'far ' : '';
  const size = NO_SIZE_KEYWORD.has(i.mnemonic) ? undefined : SIZE_KEYWORD[m.size];
  return `${size !== undefined ? `${size} ` : ''}${far}[${nosplit}${segment}${address}]`;
}

function operandText(o: Operand, i: Instruction, end: number): string {
  switch (o.kind) {
    case 'reg': return registerName(o.size, o.reg);
    case 'sreg': return SEGMENT_NAMES[o.reg]!;
    case 'creg': return `cr${o.reg}`;
    case 'st': return `st${o.reg}`;
    case 'dreg': return `dr${o.reg}`;
    case 'mem': return memoryText(o, i);
    case 'imm': return i.mnemonic === 'push' ? `${SIZE_KEYWORD[o.size]} ${hex(o.value)}` : hex(o.value);
    // nasm writes the 16-bit direct far pointer as `jmp word sel:off` (`o16 jmp sel:off` keeps a 32-bit offset).
    case 'far': return `${i.operandSize === 16 ? 'word ' : ''}${hex(o.selector)}:${hex(o.offset)}`;
    case 'rel': {
      const target = o.size === 16 ? (end + o.offset) & 0xffff : (end + o.offset) >>> 0;
      const onlyShort = COUNTER_BRANCH_MNEMONICS.has(i.mnemonic);
      // [ENC.CHOICE.4] `short`/`near` pin the displacement width nasm would otherwise choose itself.
      const keyword = onlyShort ? '' : o.size === 8 ? 'short ' : 'near ';
      return keyword + hex(target);
    }
  }
}

/** Instructions whose 16-bit operand is 16 bits at either operand size, so
 * it does not tell nasm to use the 16-bit operand size. */
const FIXED_SIXTEEN_BIT_OPERAND = new Set(['arpl', 'smsw', 'lmsw', 'sldt', 'str', 'lldt', 'ltr', 'verr', 'verw']);

/** Whether a 16-bit general register already makes nasm use the 16-bit
 * operand size (the destination; for OUT the data register, since DX there
 * is only the port number). Memory operands and segment moves do not. */
function sizedBySixteenBitOperand(i: Instruction): boolean {
  const sizing = i.mnemonic === 'out' ? i.operands[1] : i.operands[0];
  if (sizing === undefined || sizing.kind !== 'reg' || sizing.size !== 16) return false;
  const segmentMove = i.operands.some((o) => o.kind === 'sreg');
  return !segmentMove && !FIXED_SIXTEEN_BIT_OPERAND.has(i.mnemonic);
}

/**
 * NASM text for an instruction at `address`. Relative branches are written
 * as absolute targets; memory operands carry an explicit size; prefixes are
 * written as NASM prefixes (`lock`, `rep`, `o16`, a segment name).
 */
export function disassemble(i: Instruction, address: number): string {
  const end = (address + encode(i).length) >>> 0;
  const prefixes: string[] = [];
  if (i.lock) prefixes.push('lock');
  if (i.rep !== null) prefixes.push(i.rep);
  const hasMemory = i.operands.some((o) => o.kind === 'mem');
  if (i.segment !== null && !hasMemory) prefixes.push(i.segment);
  const sizeInText = SIZED_SPELLING[i.mnemonic] !== undefined || i.operands.some((o) => o.kind === 'far')
    || sizedBySixteenBitOperand(i);
  if (i.operandSize === 16 && !sizeInText) prefixes.push('o16');
  // [ENC.PREFIX.3] `a16` makes nasm address 16-bit even where no register says so ([0x1234]).
  if (i.addressSize === 16 && i.mnemonic !== 'jecxz') prefixes.push('a16');
  const text = mnemonicText(i);
  const operands = i.operands.map((o) => operandText(o, i, end)).join(', ');
  return [...prefixes, text].join(' ') + (operands === '' ? '' : ` ${operands}`);
}
