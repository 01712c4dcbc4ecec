// Case templates for conditions (SETcc, CMOVcc, Jcc, flag instructions),
// data movement, string operations with DF 0 and 1 and REP, near branches
// and loops, and faults raised at CPL 3 (#UD, #BP, #GP from privileged
// instructions and I/O, #PF on unmapped and read-only pages).
import { edgeBiased } from './random';
import {
  CODE_ADDR, DATA_ADDR, DF, DST_ADDR, SIZES, SRC_ADDR, UNMAPPED_ADDR, dataRegion, hexImm, operandRegister,
  randomBytes, randomFlags, regName, setRegister, sizeKeyword, type CaseSource, type Family, type GeneralRegName,
  type Line,
} from './template';
import { CONDITION_NAMES } from '../../../model/isa/ast';

const GENERAL_REGS_BY_INDEX: readonly GeneralRegName[] = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];

type Regs = Partial<Record<GeneralRegName, number>>;

export const conditionFamily: Family = {
  name: 'cond',
  generate(rng): CaseSource {
    const cc = rng.pick(CONDITION_NAMES);
    const regs: Regs = { eax: edgeBiased(rng, 32), ebx: edgeBiased(rng, 32), ecx: edgeBiased(rng, 32) };
    const kind = rng.below(5);
    const lines: Line[] =
      kind === 0 ? [`set${cc} al`]
      : kind === 1 ? [`cmov${cc} eax, ebx`]
      : kind === 2 ? [`cmov${cc} cx, [${hexImm(DATA_ADDR + 20)}]`]
      : kind === 3 ? [`j${cc} .taken`, 'inc ecx', '.taken:', 'nop']
      : [rng.pick(['clc', 'stc', 'cmc', 'cld', 'std', 'lahf', 'sahf'])];
    return { title: lines.join('; '), lines, regs, eflags: randomFlags(rng), mem: [dataRegion(rng)], undefinedFlags: 0 };
  },
};

export const moveFamily: Family = {
  name: 'move',
  generate(rng): CaseSource {
    const regs: Regs = {};
    const size = rng.pick(SIZES);
    const a = operandRegister(rng);
    const b = operandRegister(rng);
    setRegister(regs, 32, a, edgeBiased(rng, 32));
    setRegister(regs, 32, b, edgeBiased(rng, 32));
    const ra = regName(size, a);
    const rb = regName(size, b);
    const wide = size === 8 ? 32 : size;
    const mem = `${sizeKeyword(size)} [${hexImm(DATA_ADDR + 24)}]`;
    const kind = rng.below(9); // 0..7 and the default below
    let line: string;
    const undefinedFlags = 0; // MOV-like moves change no flag; XADD and CMPXCHG define all
    switch (kind) {
      case 0: line = rng.chance(0.5) ? `mov ${ra}, ${rb}` : rng.chance(0.5) ? `mov ${ra}, ${mem}` : `mov ${mem}, ${rb}`; break;
      case 1: {
        const narrow = size === 32 ? 16 : 8;
        line = `${rng.pick(['movzx', 'movsx'])} ${regName(size === 8 ? 32 : size, a)}, ${regName(narrow, b === 4 ? 3 : b)}`;
        break;
      }
      case 2: line = rng.chance(0.5) ? `xchg ${ra}, ${rb}` : `xchg ${mem}, ${ra}`; break;
      case 3: line = `xadd ${ra}, ${rb}`; break; // flags as ADD
      case 4: line = `cmpxchg ${ra}, ${rb}`; if (rng.chance(0.5)) setRegister(regs, size, 0, regs[GENERAL_REGS_BY_INDEX[b]!] ?? 0); break;
      case 5: line = `bswap ${regName(32, a)}`; break;
      case 6: {
        const scale = rng.pick([1, 2, 4, 8]);
        line = `lea ${regName(wide, a)}, [${regName(32, b)}+${regName(32, a)}*${scale}+${hexImm(edgeBiased(rng, 32) & 0x7fffffff)}]`;
        break;
      }
      case 7: line = rng.pick(['cbw', 'cwde', 'cwd', 'cdq']); break;
      default: {
        // A read-modify-write of memory followed by a load back.
        line = `add ${mem}, ${rb}`;
      }
    }
    return { title: line, lines: [line], regs, eflags: randomFlags(rng), mem: [dataRegion(rng)], undefinedFlags };
  },
};

const STRING_OPS = ['movs', 'stos', 'lods', 'cmps', 'scas'] as const;

export const stringFamily: Family = {
  name: 'string',
  generate(rng): CaseSource {
    const op = rng.pick(STRING_OPS);
    const size = rng.pick(SIZES);
    const suffix = size === 8 ? 'b' : size === 16 ? 'w' : 'd';
    const compares = op === 'cmps' || op === 'scas';
    const prefix = rng.chance(0.25) ? '' : compares ? rng.pick(['repe', 'repne']) : 'rep';
    const down = rng.chance(0.5);
    const count = rng.pick([0, 1, 2, 3, 5]);
    const src = randomBytes(rng, 64);
    const dst = randomBytes(rng, 64);
    // Make compares stop early sometimes: equal runs of bytes.
    if (compares && rng.chance(0.5)) dst.set(src.subarray(0, 32), 0);
    const regs: Regs = {
      esi: SRC_ADDR + 24, edi: DST_ADDR + 24, ecx: count,
      eax: rng.chance(0.5) ? new DataView(dst.buffer).getUint32(24, true) : edgeBiased(rng, 32),
    };
    const line = `a32 ${prefix} ${op}${suffix}`.replace('  ', ' ');
    const flags = (randomFlags(rng) & ~DF) | (down ? DF : 0);
    return {
      title: `${down ? 'std' : 'cld'}; ${line} (ecx=${count})`,
      lines: [line],
      regs,
      eflags: flags,
      mem: [{ addr: SRC_ADDR, bytes: src }, { addr: DST_ADDR, bytes: dst }],
      undefinedFlags: 0,
    };
  },
};

export const branchFamily: Family = {
  name: 'branch',
  generate(rng): CaseSource {
    const regs: Regs = { eax: edgeBiased(rng, 32), ecx: rng.pick([0, 1, 2, 3, 5]), edx: edgeBiased(rng, 32) };
    const kind = rng.below(5);
    let lines: Line[];
    if (kind === 0) lines = ['jmp short .over', 'inc eax', '.over:', 'inc edx'];
    else if (kind === 1) lines = ['jmp near .over', 'inc eax', 'inc eax', '.over:', 'dec edx'];
    else if (kind === 2) lines = ['jecxz .zero', 'inc eax', '.zero:', 'nop'];
    else if (kind === 3) {
      if (regs.ecx === 0) regs.ecx = 3; // LOOP with ECX 0 runs 2^32 times
      lines = ['.top:', 'inc eax', `${rng.pick(['loop', 'loope', 'loopne'])} .top, ecx`];
    } else {
      // MOV, not XOR, clears EAX on the fall-through path: XOR would leave AF
      // undefined on one path only, and a case has one mask for both.
      lines = ['cmp eax, edx', `j${rng.pick(CONDITION_NAMES)} .out`, 'mov eax, 0', 'jmp short .out', 'inc edx', '.out:', 'nop'];
    }
    return { title: lines.filter((l) => typeof l !== 'string' || !l.endsWith(':')).join('; '), lines, regs, eflags: randomFlags(rng), mem: [dataRegion(rng)], undefinedFlags: 0 };
  },
};

/** Instructions that raise #GP(0) at CPL 3 with IOPL 0. */
const PRIVILEGED: readonly Line[] = [
  'hlt', 'cli', 'sti', 'clts', 'wbinvd', 'invd',
  'in al, dx', 'in eax, dx', 'out dx, al', 'out dx, eax', 'in al, 0x60', 'out 0x80, al', 'a32 insb', 'a32 outsb',
  `lgdt [${hexImm(DATA_ADDR)}]`, `lidt [${hexImm(DATA_ADDR)}]`, 'lldt ax', 'ltr ax', 'lmsw ax',
  `invlpg [${hexImm(DATA_ADDR)}]`,
  { b32: 'mov cr0, eax', b64: 'mov cr0, rax' },
  { b32: 'mov eax, cr0', b64: 'mov rax, cr0' },
  { b32: 'mov cr3, eax', b64: 'mov cr3, rax' },
  { b32: 'mov eax, cr2', b64: 'mov rax, cr2' },
];

export const faultFamily: Family = {
  name: 'fault',
  generate(rng): CaseSource {
    const regs: Regs = { edx: rng.pick([0x80, 0x60, 0xe9, 0x3f8]), esi: SRC_ADDR, edi: DST_ADDR, ecx: rng.pick([1, 4, 16]) };
    const lead = rng.chance(0.5) ? ['add eax, ebx'] : [];
    const kind = rng.below(6);
    let body: Line[];
    let undefinedFlags = 0;
    if (kind === 0) body = [rng.pick(['ud2', 'int3'])];
    else if (kind === 1 || kind === 2) body = [rng.pick(PRIVILEGED)];
    else if (kind === 3) {
      // Read or write an unmapped page.
      const addr = hexImm(UNMAPPED_ADDR + rng.pick([0, 4, 0xffc]));
      body = [rng.pick([`mov eax, [${addr}]`, `mov [${addr}], eax`, `inc dword [${addr}]`, `add byte [${addr}], 1`])];
    } else if (kind === 4) {
      // Write to the code page, which is user read-only.
      body = [rng.pick([`mov [${hexImm(CODE_ADDR + 0x800)}], eax`, `mov byte [${hexImm(CODE_ADDR + 0x800)}], 1`])];
    } else {
      // An access that runs off the end of the data page into the next,
      // unmapped one: CR2 is the first unmapped byte. REP STOS makes some
      // progress first.
      regs.ebx = DATA_ADDR + 0xffc + rng.pick([0, 1, 2, 3]);
      regs.edi = DATA_ADDR + 0xff0;
      body = [rng.pick(['mov eax, [ebx]', 'mov [ebx], eax', 'a32 rep stosd', 'a32 rep stosb'])];
      regs.ecx = rng.pick([1, 4, 5, 17, 40]);
      return {
        title: body.map(show).join('; '), lines: body, regs, eflags: randomFlags(rng) & ~DF,
        mem: [dataRegion(rng), { addr: DATA_ADDR + 0xfc0, bytes: randomBytes(rng, 64) }], undefinedFlags,
      };
    }
    const lines = [...lead, ...body];
    return { title: lines.map(show).join('; '), lines, regs, eflags: randomFlags(rng), mem: [dataRegion(rng)], undefinedFlags };
  },
};

function show(line: Line): string {
  return typeof line === 'string' ? line : line.b32;
}
