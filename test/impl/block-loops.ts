// Random hot loops for the translated-block checks (block-fast-paths.test.ts,
// and mutants.test.ts for the mutants of the block compiler): the loop
// generator, the machine set-up and the comparison of a run() machine
// (blocks) with a step() machine (the interpreter).
import fc from 'fast-check';
import { assembleText } from '../../model/isa/asm/assemble';
import type { CommonState, StepEvent } from '../../model/machine';
import { ImplMachine } from '../../impl/machine';
import { flatEntryState } from '../../properties/machines';

/** Compile a block where the interpreter has run an instruction 8 times, looping or not,
 * so that short runs exercise blocks (impl/cpu.ts blockThresholds). */
export const EAGER = { loop: 8, straight: 8 };

export const MEMORY = 4 << 20;
export const CODE = 0x100000, DATA = 0x200000, TABLES = 0x300000;

// Registers: ECX counts the loop, EBX and EBP hold data addresses, ESI an
// index, EAX EDX EDI are scratch.
const address = fc.constantFrom('[ebx]', '[ebx + 4]', '[ebx + esi*4]', '[ebx + esi + 0xffd]', '[ebp - 2]', '[ebx + 0x1ffe]',
  '[es:ebx + esi*2 + 8]', '[ss:ebx + 0xfff]', '[edi + 1]');
const scratch = fc.constantFrom('eax', 'edx', 'edi');
const size = fc.constantFrom('dword', 'byte', 'word');
const low = (r: string, s: string): string => (s === 'dword' ? r : s === 'byte' ? r[1] + 'l' : r.slice(1));

// A store that only starts after some iterations, once the loop runs as a
// translated block: a first write through a TLB entry filled by reads (the
// dirty bit), or a patch of the loop's own code (self-modifying code).
const lateStore = fc.tuple(fc.integer({ min: 900, max: 985 }), fc.oneof(
  fc.tuple(address, fc.constantFrom('eax', 'edx'), size).map(([a, r, s]) => `mov ${s} ${a}, ${low(r, s)}`),
  fc.constantFrom('mov byte [es:patch + 2], cl', 'mov [es:patch + 2], ecx', 'inc byte [es:patch + 3]', 'mov byte [es:patch + 1], 0xc0'),
)).map(([n, store]) => `cmp ecx, ${n}\n  ja @\n  ${store}\n@:`);
const instruction: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(scratch, address, size).map(([r, a, s]) => `mov ${low(r, s)}, ${s} ${a}`),
  fc.tuple(address, scratch, size).map(([a, r, s]) => `mov ${s} ${a}, ${low(r === 'edi' ? 'eax' : r, s)}`),
  fc.tuple(address, size, fc.integer({ min: 0, max: 0xffff })).map(([a, s, v]) => `mov ${s} ${a}, ${s === 'byte' ? v & 0xff : v}`),
  fc.tuple(scratch, address, fc.constantFrom('movzx', 'movsx'), fc.constantFrom('byte', 'word')).map(([r, a, op, s]) => `${op} ${r}, ${s} ${a}`),
  fc.tuple(fc.constantFrom('add', 'sub', 'and', 'or', 'xor', 'cmp', 'adc'), scratch, address).map(([op, r, a]) => `${op} ${r}, ${a}`),
  fc.tuple(fc.constantFrom('add', 'sub', 'and', 'or', 'xor', 'cmp'), address, fc.constantFrom('eax', 'edx'), fc.boolean())
    .map(([op, a, r, byte]) => (byte ? `${op} byte ${a}, ${r[1]}l` : `${op} ${a}, ${r}`)),
  fc.tuple(fc.constantFrom('add', 'cmp', 'xor'), address, size, fc.integer({ min: 0, max: 300 })).map(([op, a, s, v]) => `${op} ${s} ${a}, ${s === 'byte' ? v & 0xff : v}`),
  fc.tuple(fc.constantFrom('inc', 'dec'), address, fc.constantFrom('dword', 'byte')).map(([op, a, s]) => `${op} ${s} ${a}`),
  fc.tuple(fc.constantFrom('push', 'pop'), fc.constantFrom('eax', 'edx', 'edi')).map(([op, r]) => (op === 'pop' ? `pop ${r}` : `push ${r}`)),
  fc.tuple(fc.constantFrom('rol', 'ror', 'shl', 'shr', 'sar', 'rcl'), scratch, fc.integer({ min: 0, max: 40 })).map(([op, r, n]) => `${op} ${r}, ${n}`),
  fc.tuple(scratch, scratch, fc.integer({ min: -70000, max: 70000 })).map(([a, b, v]) => `imul ${a}, ${b}, ${v}`),
  fc.tuple(fc.constantFrom('add', 'sub', 'and', 'or', 'xor', 'cmp', 'test'), scratch, scratch).map(([op, a, b]) => `${op} ${a}, ${b}`),
  fc.tuple(fc.constantFrom('add', 'sub', 'cmp', 'xor'), scratch, fc.integer({ min: -5, max: 0x7fffffff })).map(([op, r, v]) => `${op} ${r}, ${v}`),
  fc.tuple(fc.constantFrom('xor', 'add', 'cmp'), fc.constantFrom('al', 'dl', 'ah'), fc.constantFrom('al', 'dh', 'bl')).map(([op, a, b]) => `${op} ${a}, ${b}`),
  lateStore, lateStore,
  fc.constantFrom('inc esi', 'dec edx', 'inc eax', 'and esi, 0x3ff', 'lea edi, [ebx + esi*2 + 3]'),
);
const condition = fc.constantFrom('jz', 'jnz', 'jb', 'jae', 'jbe', 'ja', 'js', 'jns', 'jl', 'jge', 'jle', 'jg', 'jo', 'jp', 'jc');

export interface Case {
  body: string[];
  jumps: Array<[number, string, number]>; // after instruction i: jcc to label at instruction j
  dataBase: number; ebxOffset: number;
  cpl3: boolean;
  ds: { base: number; limit: number; expandDown: boolean; writable: boolean };
  ss: { limit: number; expandDown: boolean };
  paging: boolean; wp: boolean; pageFlags: number[];
  regs: number[];
  /** Start with TF set (at ring 0), with a #DB handler that returns: every
   * instruction then ends in a single-step trap, so no block may run. */
  trap?: boolean;
  /** Start with a jump over four bytes that nothing decodes, just before the
   * loop: a store there whose last bytes are the loop's first opcode
   * begins off code and ends on it. */
  gap?: boolean;
}

const segment = fc.record({
  base: fc.constantFrom(0, 0, 0, 0, 0x1000, 0xfffff000, 0x123),
  limit: fc.constantFrom(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x2fffff, 0x201fff, 0x200800, 0x1fffff),
  expandDown: fc.constantFrom(false, false, false, true),
  writable: fc.constantFrom(true, true, true, true, true, false),
});
export const caseArb: fc.Arbitrary<Case> = fc.record({
  body: fc.array(instruction, { minLength: 2, maxLength: 14 }),
  jumps: fc.array(fc.tuple(fc.nat(14), condition, fc.nat(14)), { maxLength: 3 }),
  dataBase: fc.constantFrom(DATA, DATA, DATA + 0x1000, CODE),
  ebxOffset: fc.constantFrom(0, 0x10, 0xffc, 0xffe, 0x1ff0, 0x7f0),
  cpl3: fc.boolean(),
  ds: segment,
  ss: fc.record({ limit: fc.constantFrom(0xffffffff, 0xffffffff, 0x2fffff, 0x1000), expandDown: fc.constantFrom(false, false, true) }),
  paging: fc.boolean(),
  wp: fc.boolean(),
  pageFlags: fc.array(fc.constantFrom(0x67, 0x67, 0x67, 0x67, 0x67, 0x67, 0x27, 0x27, 0x23, 0x07, 0x65, 0x63, 0x05, 0x66, 0x23), { minLength: 4, maxLength: 4 }),
  regs: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 3, maxLength: 3 }),
});

/** Fixed loops that random ones rarely make: flat segments, paging off
 * (the flat variant of a block), reads that end past the end of RAM (the
 * executor reads 0xff there; mutant flat-block-read-past-ram), a carry
 * kept across INC/DEC. */
export const EDGE_CASES: readonly Case[] = [{
  body: ['mov eax, [ebx + 0xffe]', 'movzx edx, byte [ebx + 0x1000]', 'add eax, [ebx + 0xffd]', 'cmp word [ebx + 0xfff], 5', 'xor edx, [ebx + esi*4 + 0xc00]', 'mov edi, [ebx + 0xff8]'],
  jumps: [], dataBase: MEMORY - 0x1000, ebxOffset: 0, cpl3: false,
  ds: { base: 0, limit: 0xffffffff, expandDown: false, writable: true },
  ss: { limit: 0xffffffff, expandDown: false },
  paging: false, wp: false, pageFlags: [0x67, 0x67, 0x67, 0x67], regs: [1, 2, 0xf8],
}, {
  // INC and DEC keep the carry of the ADD just before them, which ADC and SBB
  // then read (mutant inc-after-add-drops-carry).
  body: ['add eax, 0x9e3779b9', 'inc esi', 'adc edx, 0', 'sub edi, eax', 'dec edx', 'sbb edi, 1', 'mov [ebx], edx'],
  jumps: [], dataBase: DATA, ebxOffset: 0x10, cpl3: false,
  ds: { base: 0, limit: 0xffffffff, expandDown: false, writable: true },
  ss: { limit: 0xffffffff, expandDown: false },
  paging: false, wp: false, pageFlags: [0x67, 0x67, 0x67, 0x67], regs: [5, 7, 0x11],
}, {
  // A dword store whose first bytes are not code and whose last byte is the
  // opcode of the loop's first instruction (mutant store-checks-first-byte-only),
  // with paging on and the segments flat (the general variant of the block).
  gap: true,
  body: ['mov eax, [ebx]', 'cmp ecx, 950\n  ja @\n  mov [es:patch - 3], ecx\n@:', 'add eax, edx'],
  jumps: [], dataBase: DATA, ebxOffset: 0x10, cpl3: false,
  ds: { base: 0, limit: 0xffffffff, expandDown: false, writable: true },
  ss: { limit: 0xffffffff, expandDown: false },
  paging: true, wp: false, pageFlags: [0x67, 0x67, 0x67, 0x67], regs: [5, 7, 0x11],
}, {
  // After INVLPG the block's read misses the TLB and is walked inline; a
  // later store in the same block run crosses into a page that is not
  // present, after its walk of the first page set D there: the fault must
  // take that walk back (mutant walk-ahead-stops-logging).
  body: ['invlpg [ebx]', 'mov eax, [ebx + 0x10]', 'cmp ecx, 950\n  ja @\n  mov [ebx + 0xffe], eax\n@:'],
  jumps: [], dataBase: DATA, ebxOffset: 0, cpl3: false,
  ds: { base: 0, limit: 0xffffffff, expandDown: false, writable: true },
  ss: { limit: 0xffffffff, expandDown: false },
  paging: true, wp: false, pageFlags: [0x27, 0x26, 0x67, 0x67], regs: [5, 7, 0x11],
}];

/** The loops of caseArb started with TF set (at ring 0). */
export const trapCaseArb: fc.Arbitrary<Case> = caseArb.map((c) => ({ ...c, cpl3: false, trap: true }));

/** Where a trapping case keeps its GDT, IDT and #DB handler (IRETD). */
const GDT = TABLES + 0x2000, IDT = TABLES + 0x2800, DEBUG_HANDLER = TABLES + 0x3000;

function writeTrapTables(m: ImplMachine): void {
  const bytes = new DataView(new ArrayBuffer(0x1001));
  // GDT: null, flat ring-0 code (0x08), flat ring-0 data (0x10).
  bytes.setUint32(8, 0x0000ffff, true); bytes.setUint32(12, 0x00cf9a00, true);
  bytes.setUint32(16, 0x0000ffff, true); bytes.setUint32(20, 0x00cf9200, true);
  // IDT vector 1: a present 32-bit interrupt gate to the handler.
  bytes.setUint32(0x800 + 8, (0x08 << 16) | (DEBUG_HANDLER & 0xffff), true);
  bytes.setUint32(0x800 + 12, ((DEBUG_HANDLER & 0xffff0000) | 0x8e00) >>> 0, true);
  bytes.setUint8(0x1000, 0xcf); // iretd
  m.writePhysical(GDT, new Uint8Array(bytes.buffer));
}

export function source(c: Case): string {
  const n = c.body.length;
  const labels = new Map<number, string>();
  const jumpsAfter = new Map<number, string[]>();
  for (const [from, cc, to] of c.jumps) {
    const f = from % n, t = to % n;
    labels.set(t, `l${t}`);
    jumpsAfter.set(f, [...(jumpsAfter.get(f) ?? []), `  ${cc} l${t}`]);
  }
  const lines = ['bits 32', `org ${CODE}`, ...(c.gap === true ? ['  jmp top', '  db 0, 0, 0, 0'] : []), 'top:', 'patch:', '  add edx, strict dword 0x01020304'];
  c.body.forEach((ins, i) => {
    if (labels.has(i)) lines.push(`l${i}:`);
    lines.push(`  ${ins.replaceAll('@', `g${i}`)}`);
    lines.push(...(jumpsAfter.get(i) ?? []));
  });
  lines.push('  dec ecx', '  jnz top', '  jmp top');
  return lines.join('\n') + '\n';
}

function boot(c: Case, code: Uint8Array): ImplMachine {
  const m = new ImplMachine(MEMORY);
  m.cpu.blockThresholds = EAGER;
  m.writePhysical(CODE, code);
  // Data: a recognisable pattern in the data frames.
  const pattern = new Uint8Array(0x4000);
  for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 37 + 11) & 0xff;
  m.writePhysical(DATA, pattern);
  const entry = flatEntryState(CODE, 0);
  const rpl = c.cpl3 ? 3 : 0, dpl = rpl << 5;
  const data = (base: number, limit: number, expandDown: boolean, writable: boolean) => ({
    selector: 0x10 | rpl, base, limit, attributes: 0xc090 | dpl | (writable ? 2 : 0) | (expandDown ? 4 : 0), valid: true,
  });
  const ebx = (c.dataBase + c.ebxOffset) >>> 0;
  const cs = { selector: 0x08 | rpl, base: 0, limit: 0xffffffff, attributes: 0xc09a | dpl, valid: true };
  const ds = data((c.ds.base) >>> 0, c.ds.limit, c.ds.expandDown, c.ds.writable);
  const es = data(0, 0xffffffff, false, true);
  const ss = data(0, c.ss.expandDown ? 0x1fffff : c.ss.limit, c.ss.expandDown, true);
  // Addresses are DS offsets: subtract the DS base so that the flat target is ebx.
  const regs = { eax: c.regs[0], ecx: 1000, edx: c.regs[1], ebx: (ebx - c.ds.base) >>> 0, esp: DATA + 0x2800, ebp: (ebx - c.ds.base + 0x100) >>> 0,
    esi: c.regs[2] & 0x3ff, edi: (ebx - c.ds.base + 0x40) >>> 0 };
  let cr0 = entry.cr0, cr3 = entry.cr3;
  if (c.paging) {
    cr3 = TABLES;
    cr0 = (0x80000011 | (c.wp ? 0x10000 : 0)) >>> 0;
    // Page directory at TABLES, one table mapping 0..4 MiB identically, user
    // and writable (A and D set) except the four data pages (random flags).
    const directory = new DataView(new ArrayBuffer(4096)), table = new DataView(new ArrayBuffer(4096));
    directory.setUint32(0, (TABLES + 0x1000) | 0x27, true);
    for (let p = 0; p < 1024; p++) table.setUint32(p * 4, (p << 12) | 0x67, true);
    c.pageFlags.forEach((flags, i) => table.setUint32(((DATA >>> 12) + i) * 4, (DATA + i * 0x1000) | flags, true));
    m.writePhysical(TABLES, new Uint8Array(directory.buffer));
    m.writePhysical(TABLES + 0x1000, new Uint8Array(table.buffer));
  }
  let s: CommonState = { ...entry, regs, cr0, cr3, segments: { ...entry.segments, cs, ds, es, ss } };
  if (c.trap === true) {
    writeTrapTables(m);
    s = { ...s, eflags: 0x102, gdtr: { base: GDT, limit: 23 }, idtr: { base: IDT, limit: 0x7ff } };
  }
  m.setState(s);
  return m;
}

type Trace = string[];
const ends = (e: StepEvent): boolean => e.kind !== 'retired' && e.kind !== 'interrupt' && e.kind !== 'exception';

function trace(m: ImplMachine, limit: number, drive: (m: ImplMachine) => StepEvent): Trace {
  const out: Trace = [];
  while (m.state().instructionCount < limit) {
    const e = drive(m);
    if (e.kind !== 'retired') out.push(`${m.state().instructionCount} ${m.state().eip.toString(16)} ${JSON.stringify(e)}`);
    if (ends(e)) break;
  }
  return out;
}

/** Where a block-driven run of `c` and a stepped one part: the first
 * difference in events, state or memory, or null when they agree. Also says
 * whether any block ran. */
export function compareLoop(c: Case): { difference: string | null; translated: boolean } {
  const assembled = assembleText({ 'loop.asm': source(c) }, 'loop.asm', { format: 'bin' });
  if (assembled.kind !== 'ok') throw new Error(`${assembled.errors.map((e) => e.message).join('; ')}\n${source(c)}`);
  const fast = boot(c, assembled.bytes), slow = boot(c, assembled.bytes);
  const limit = 3000;
  const fastTrace = trace(fast, limit, (m) => m.run(Math.min(997, limit - m.state().instructionCount)));
  const slowTrace = trace(slow, limit, (m) => m.step());
  const fastState = JSON.stringify(fast.state()), slowState = JSON.stringify(slow.state());
  let difference: string | null = null;
  if (JSON.stringify(fastTrace) !== JSON.stringify(slowTrace)) difference = `events: run() ${JSON.stringify(fastTrace)}, step() ${JSON.stringify(slowTrace)}`;
  else if (fastState !== slowState) difference = `state: run() ${fastState}, step() ${slowState}`;
  else if (Buffer.compare(fast.readPhysical(0, MEMORY), slow.readPhysical(0, MEMORY)) !== 0) difference = 'memory';
  const translated = fast.blockStats().runs > 0;
  fast.release(); slow.release();
  return { difference, translated };
}
