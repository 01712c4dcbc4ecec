// [VMM.EQ] Equivalence over randomly generated user programs: a random
// ring-3 program (register arithmetic, heap and stack memory, system calls
// among them, sometimes a fault) becomes `user_program` of the teaching
// kernel (guests/teach, built with -D USER_PROGRAM; it runs as pids 2 and 4,
// beside two talkers), and the native build on the bare model must show
// what the meso build shows under the monitor: the same console and the
// same per-process state at every system call (properties/vmm/equivalence.ts).
import fc from 'fast-check';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assemble } from '../../model/isa/asm/assemble';
import { defaultRules, type VmmRules } from '../../model/vmm/rules';
import { observeNative, observeUnderMonitor, type Observation } from './equivalence';

export const TEACH_DIR = join(import.meta.dirname, '..', '..', 'guests', 'teach');
const PROGRAM_FILE = join(TEACH_DIR, 'user-program.inc');
export const TEACH_RANDOM_STEPS = 400_000;

/** Registers a generated instruction may write: all but ESP. */
const REGS = ['eax', 'ecx', 'edx', 'ebx', 'ebp', 'esi', 'edi'] as const;
const REGS8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'] as const;
const HEAP = 0x400000; // USER_BASE: the heap; the program first grows it by one page

const reg = fc.constantFrom(...REGS);
const src = fc.constantFrom(...REGS, 'esp');
const reg8 = fc.constantFrom(...REGS8);
const imm = fc.oneof(
  fc.constantFrom(0, 1, 2, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0xffffffff),
  fc.integer({ min: 0, max: 0xffffffff }),
).map((v) => `0x${(v >>> 0).toString(16)}`);
const count = fc.integer({ min: 0, max: 31 });
const heapSlot = fc.integer({ min: 0, max: 1023 }).map((i) => `[0x${(HEAP + i * 4).toString(16)}]`);
const stackSlot = fc.integer({ min: 1, max: 64 }).map((i) => `[esp - ${i * 4}]`);
const slot = fc.oneof(heapSlot, stackSlot);
const cc = fc.constantFrom('o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g');
const alu = fc.constantFrom('add', 'sub', 'and', 'or', 'xor', 'adc', 'sbb', 'cmp', 'test');
const shift = fc.constantFrom('shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr');

/** One ordinary user-level instruction (or a short idiom) on registers and the process's own memory. */
const ordinary: fc.Arbitrary<readonly string[]> = fc.oneof(
  fc.tuple(reg, imm).map(([r, v]) => [`mov ${r}, ${v}`]),
  fc.tuple(reg, src).map(([r, s]) => [`mov ${r}, ${s}`]),
  fc.tuple(alu, reg, src).map(([o, r, s]) => [`${o} ${r}, ${s}`]),
  fc.tuple(alu, reg, imm).map(([o, r, v]) => [`${o} ${r}, ${v}`]),
  fc.tuple(fc.constantFrom('inc', 'dec', 'neg', 'not', 'bswap'), reg).map(([o, r]) => [`${o} ${r}`]),
  fc.tuple(shift, reg, count).map(([o, r, n]) => [`${o} ${r}, ${n}`]),
  fc.tuple(shift, reg).map(([o, r]) => [`${o} ${r}, cl`]),
  fc.tuple(reg, src).map(([r, s]) => [`imul ${r}, ${s}`]),
  fc.tuple(reg, src, imm).map(([r, s, v]) => [`imul ${r}, ${s}, ${v}`]),
  fc.tuple(reg, src, fc.constantFrom(1, 2, 4, 8), imm).map(([r, s, k, v]) => [`lea ${r}, [${s} + ${s === 'esp' ? 'eax' : s} * ${k} + ${v}]`]),
  fc.tuple(reg, reg).map(([a, b]) => [`xchg ${a}, ${b}`]),
  fc.tuple(fc.constantFrom('movzx', 'movsx'), reg, reg8).map(([o, r, b]) => [`${o} ${r}, ${b}`]),
  fc.tuple(reg8, reg8).map(([a, b]) => [`add ${a}, ${b}`]),
  fc.tuple(cc, reg8).map(([c, b]) => [`set${c} ${b}`]),
  fc.tuple(cc, reg, src).map(([c, r, s]) => [`cmov${c} ${r}, ${s}`]),
  fc.constantFrom(['cdq'], ['cwde'], ['clc'], ['stc'], ['cmc'], ['std'], ['cld'], ['mul ecx'], ['imul ebx']),
  fc.tuple(src, reg).map(([a, b]) => [`push ${a}`, `pop ${b}`]),
  fc.tuple(slot, reg).map(([m, r]) => [`mov dword ${m}, ${r}`]),
  fc.tuple(reg, slot).map(([r, m]) => [`mov ${r}, ${m}`]),
  fc.tuple(alu, reg, slot).map(([o, r, m]) => [`${o} ${r}, ${m}`]),
  fc.tuple(alu, slot, reg).map(([o, m, r]) => [`${o} dword ${m}, ${r}`]),
  fc.tuple(slot, imm).map(([m, v]) => [`add dword ${m}, ${v}`]),
);

/** A system call among the instructions: getpid, yield, sbrk, or write of a register's value. */
const systemCall: fc.Arbitrary<readonly string[]> = fc.oneof(
  fc.constant(['system_call SYS_GETPID']),
  fc.constant(['system_call SYS_YIELD']),
  fc.constantFrom(0, 4, 0x1000, 0x2345, 0x10000000, 0xfffff000).map((n) => [`mov ebx, 0x${n.toString(16)}`, 'system_call SYS_SBRK']),
  src.map((r) => [`push ${r}`, 'mov ebx, esp', 'mov ecx, 4', 'system_call SYS_WRITE', 'add esp, 4']),
);

/** What a process may do that the kernel must answer with a kill (rarely generated). */
const fault: fc.Arbitrary<readonly string[]> = fc.constantFrom(
  ['mov dword [KERNEL_BASE], 0'], // #PF, supervisor page (present)
  ['mov eax, [0x600000]'], // #PF, between heap and stack: not present, the CR2 the kernel prints
  ['cli'], ['hlt'], ['ud2'], // #GP at CPL 3, #GP, #UD
  ['xor edx, edx', 'xor ecx, ecx', 'div ecx'], // #DE
);

const piece = fc.oneof({ weight: 12, arbitrary: ordinary }, { weight: 4, arbitrary: systemCall }, { weight: 1, arbitrary: fault });

export interface RandomProgram { readonly lines: readonly string[] }

/** A random user program: grow the heap by a page, random pieces, then write all registers and exit. */
export const randomProgram: fc.Arbitrary<RandomProgram> = fc.array(piece, { minLength: 4, maxLength: 30 }).map((pieces) => ({
  lines: [
    'mov ebx, 0x1000', 'system_call SYS_SBRK',
    ...pieces.flat(),
    'pushad', 'mov ebx, esp', 'mov ecx, 32', 'system_call SYS_WRITE', 'add esp, 32',
    'mov ebx, edi', 'system_call SYS_EXIT',
  ],
}));

export const programSource = (p: RandomProgram): string => `user_program:\n${p.lines.map((l) => `    ${l}\n`).join('')}`;

/** The teaching kernel with this program as `user_program`, native or meso. */
export function buildTeachWith(p: RandomProgram, meso: boolean): Uint8Array {
  const text = programSource(p);
  const r = assemble(join(TEACH_DIR, 'teach.asm'), (path) => (path === PROGRAM_FILE ? text : existsSync(path) ? readFileSync(path, 'utf8') : null),
    { format: 'bin', defines: meso ? { MESO: '', USER_PROGRAM: '' } : { USER_PROGRAM: '' } });
  if (r.kind !== 'ok') throw new Error(r.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n') + '\n' + text);
  return r.bytes;
}

/** Why the two runs differ, or null when they are equivalent (console, end, checkpoints). */
export function compareRuns(native: Observation, meso: Observation): string | null {
  if (native.end !== 'exit 1') return `native run did not end cleanly: ${native.end}`;
  if (meso.end !== native.end) return `end: native ${native.end}, meso ${meso.end}`;
  if (meso.console !== native.console) return `console differs:\nnative ${JSON.stringify(native.console)}\nmeso   ${JSON.stringify(meso.console)}`;
  const keys = (o: Observation): string => JSON.stringify([...o.checkpoints.keys()].sort());
  if (keys(meso) !== keys(native)) return `processes differ: native ${keys(native)}, meso ${keys(meso)}`;
  for (const [cr3, list] of native.checkpoints) {
    const other = meso.checkpoints.get(cr3)!;
    if (JSON.stringify(other) !== JSON.stringify(list)) {
      const i = list.findIndex((c, k) => JSON.stringify(c) !== JSON.stringify(other[k]));
      return `checkpoint ${i} of the process with CR3 0x${cr3.toString(16)} differs:\nnative ${JSON.stringify(list[i])}\nmeso   ${JSON.stringify(other[i])}`;
    }
  }
  return null;
}

/** The property: for every generated program, native and meso are equivalent under `rules`. */
export function teachRandomProperty(rules: VmmRules = defaultRules): fc.IPropertyWithHooks<[RandomProgram]> {
  return fc.property(randomProgram, (p) => {
    const native = observeNative(buildTeachWith(p, false), TEACH_RANDOM_STEPS);
    const meso = observeUnderMonitor(buildTeachWith(p, true), TEACH_RANDOM_STEPS, rules);
    const why = compareRuns(native, meso);
    if (why !== null) throw new Error(`${why}\nprogram:\n${programSource(p)}`);
  });
}
