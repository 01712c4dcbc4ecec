// Layout: the passes that give every label its address. Like nasm, the
// assembler runs over the whole source again and again, each pass using the
// addresses the previous pass found, until nothing moves; then one final
// pass reports errors and produces the bytes. Branches start short
// (optimistic) and become near when the target is out of reach; a branch
// once near stays near, so the passes always end [relaxation].
//
// Sections are placed as nasm -f bin places them: .text at `org`, then the
// other initialised sections (.rodata, .data) in the order they first
// appear, each aligned to 4, then .bss (aligned to 4, not stored).
import type { AsmError } from './source';
import { asmError } from './source';
import { type EvalEnv, type Evaluated, type Value, evaluate } from './expression';
import { assembleInstruction } from './instructions';
import type { ParsedLine, Statement } from './statements';

export interface SectionImage {
  readonly name: string;
  readonly address: number;
  readonly size: number;
  /** The contents; empty for .bss. */
  readonly bytes: Uint8Array;
  readonly nobits: boolean;
}

export interface Layout {
  readonly org: number;
  readonly sections: readonly SectionImage[];
  readonly symbols: ReadonlyMap<string, Value>;
  readonly labels: ReadonlySet<string>;
  readonly globals: ReadonlySet<string>;
}

interface PassState {
  readonly symbols: ReadonlyMap<string, Value>;
  readonly bases: ReadonlyMap<string, number>;
  readonly long: ReadonlySet<number>;
  readonly org: number;
  /** Where each line started in this pass (section offset), for the drift below. */
  readonly lineOffsets?: ReadonlyMap<number, number>;
}

interface PassResult {
  readonly state: PassState;
  readonly sections: readonly SectionImage[];
  readonly labels: ReadonlySet<string>;
  readonly globals: ReadonlySet<string>;
  readonly errors: readonly AsmError[];
}

const MAX_PASSES = 100;
const SECTION_ALIGNMENT = 4;
const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

function sameState(a: PassState, b: PassState): boolean {
  const sameMap = <T>(x: ReadonlyMap<string, T>, y: ReadonlyMap<string, T>, eq: (p: T, q: T) => boolean): boolean =>
    x.size === y.size && [...x].every(([k, v]) => y.has(k) && eq(v, y.get(k)!));
  return a.org === b.org && a.long.size === b.long.size && [...a.long].every((k) => b.long.has(k)) &&
    sameMap(a.bases, b.bases, (p, q) => p === q) && sameMap(a.symbols, b.symbols, (p, q) => p.value === q.value && p.section === q.section);
}

function littleEndian(value: bigint, bytes: number): number[] {
  const v = BigInt.asUintN(bytes * 8, value);
  return Array.from({ length: bytes }, (_, k) => Number((v >> BigInt(8 * k)) & 0xffn));
}

/** One pass over the program. */
function pass(lines: readonly ParsedLine[], prev: PassState, final: boolean): PassResult {
  const errors: AsmError[] = [];
  const symbols = new Map<string, Value>();
  const labels = new Set<string>();
  const globals = new Set<string>();
  const definedAt = new Map<string, ParsedLine>();
  const contents = new Map<string, number[]>([['.text', []]]);
  const sizes = new Map<string, number>([['.text', 0]]);
  const long = new Set<number>();
  const lineOffsets = new Map<number, number>();
  let drift = 0;
  let org: number | null = null;
  let section = '.text';
  const base = (s: string): number => prev.bases.get(s) ?? org ?? prev.org;
  const offset = (): number => sizes.get(section)!;
  const here = (): Value => ({ value: BigInt(base(section) + offset()), section });
  // Symbols are kept relative to their section's start, so that a section
  // moving between passes does not make every branch look far away.
  const absolute = (v: Value): Value => (v.section === null ? v : { value: v.value + BigInt(base(v.section)), section: v.section });
  const relative = (v: Value): Value => (v.section === null ? v : { value: v.value - BigInt(base(v.section)), section: v.section });
  const env = (): EvalEnv => ({
    symbol: (name) => {
      const v = symbols.get(name);
      if (v !== undefined) return { kind: 'known', value: absolute(v) };
      // A forward reference: the previous pass's address, moved by as much
      // as this pass has moved the code so far (the drift), so that a short
      // branch forward is not judged out of reach only because everything
      // before it grew since the previous pass [relaxation].
      const p = prev.symbols.get(name);
      if (p === undefined) return undefined;
      const moved = p.section === section && !final ? { value: p.value + BigInt(drift), section: p.section } : p;
      return { kind: 'known', value: absolute(moved) };
    },
    here: { kind: 'known', value: here() },
    sectionStart: { kind: 'known', value: { value: BigInt(base(section)), section } },
    final,
  });
  const report = (line: ParsedLine, column: number, message: string): void => {
    if (final) errors.push(asmError({ ...line.at, column }, message));
  };
  const value = (line: ParsedLine, e: Parameters<typeof evaluate>[0]): Evaluated | null => {
    const r = evaluate(e, env());
    if (r.kind === 'error') { report(line, r.column, r.message); return null; }
    return r;
  };
  /** A count that must be known now (times, resb, align). */
  const count = (line: ParsedLine, e: Parameters<typeof evaluate>[0], what: string): number => {
    const r = value(line, e);
    if (r === null) return 0;
    if (r.kind === 'unknown') { report(line, e.column, `the ${what} must be known where it is written (no forward references)`); return 0; }
    if (r.value.section !== null) { report(line, e.column, `the ${what} must be a number, not an address`); return 0; }
    if (r.value.value < 0n) { report(line, e.column, `the ${what} is negative (${r.value.value})`); return 0; }
    return Number(r.value.value);
  };
  const emit = (line: ParsedLine, bytes: readonly number[]): void => {
    if (section === '.bss') { if (bytes.length > 0) report(line, line.at.column, 'data or code in .bss (use resb/resw/resd there)'); }
    else { const c = contents.get(section)!; for (const b of bytes) c.push(b); }
    sizes.set(section, offset() + bytes.length);
  };
  const reserve = (n: number): void => {
    if (section !== '.bss') contents.get(section)!.push(...new Array<number>(n).fill(0));
    sizes.set(section, offset() + n);
  };
  const statement = (line: ParsedLine, index: number, s: Statement): void => {
    switch (s.kind) {
      case 'none': case 'global': return;
      case 'section':
        section = s.name;
        if (!sizes.has(section)) { sizes.set(section, 0); contents.set(section, []); }
        return;
      case 'org': {
        const n = count(line, s.address, 'org address');
        if (org !== null && org !== n) report(line, s.address.column, `a second org with a different address (0x${org.toString(16)} before)`);
        org = n;
        return;
      }
      case 'equ': {
        const r = value(line, s.value);
        if (r?.kind === 'known') symbols.set(s.name, relative(r.value));
        return;
      }
      case 'data': {
        const bytes: number[] = [];
        for (const item of s.items) {
          if (item.kind === 'string') {
            bytes.push(...item.bytes, ...new Array<number>((s.unit - (item.bytes.length % s.unit)) % s.unit).fill(0));
          } else {
            const r = value(line, item.expr);
            bytes.push(...littleEndian(r?.kind === 'known' ? r.value.value : 0n, s.unit));
          }
        }
        emit(line, bytes);
        return;
      }
      case 'binary': {
        const skip = s.skip === null ? 0 : count(line, s.skip, 'incbin skip');
        const kept = s.count === null ? s.bytes.length : count(line, s.count, 'incbin count');
        emit(line, Array.from(s.bytes.subarray(Math.min(skip, s.bytes.length), Math.min(s.bytes.length, skip + kept))));
        return;
      }
      case 'reserve':
        reserve(count(line, s.count, `${{ 1: 'resb', 2: 'resw', 4: 'resd', 8: 'resq' }[s.unit]} count`) * s.unit);
        return;
      case 'align': {
        const boundary = count(line, s.boundary, 'alignment');
        if (boundary === 0 || (boundary & (boundary - 1)) !== 0) { report(line, s.boundary.column, 'the alignment must be a power of two'); return; }
        const pad = (boundary - (offset() % boundary)) % boundary;
        if (section === '.bss' || s.fill === 'zero') reserve(pad);
        else emit(line, new Array<number>(pad).fill(0x90));
        return;
      }
      case 'times': {
        const n = count(line, s.count, 'times count');
        for (let k = 0; k < n; k++) statement(line, index, s.body);
        return;
      }
      case 'instruction': {
        if (s.mnemonic === '') { report(line, line.at.column, 'a prefix needs an instruction after it'); return; }
        const r = assembleInstruction(s, env(), base(section) + offset(), section, prev.long.has(index), line.at.column);
        if (r.kind === 'error') { report(line, r.column, r.message); emit(line, []); return; }
        if (r.long) long.add(index);
        emit(line, Array.from(r.bytes));
        return;
      }
    }
  };
  lines.forEach((line, index) => {
    const before = prev.lineOffsets?.get(index);
    drift = before === undefined ? 0 : offset() - before;
    lineOffsets.set(index, offset());
    if (line.label !== null) {
      const first = definedAt.get(line.label.name);
      if (first !== undefined) report(line, line.label.column, `label '${line.label.name}' is already defined at line ${first.at.line}`);
      else {
        definedAt.set(line.label.name, line);
        labels.add(line.label.name);
        symbols.set(line.label.name, { value: BigInt(offset()), section });
      }
    }
    if (line.statement.kind === 'equ') {
      if (definedAt.has(line.statement.name)) report(line, line.at.column, `'${line.statement.name}' is already defined at line ${definedAt.get(line.statement.name)!.at.line}`);
      definedAt.set(line.statement.name, line);
    }
    if (line.statement.kind === 'global') line.statement.names.forEach((g) => globals.add(g.name));
    statement(line, index, line.statement);
  });
  if (final) {
    for (const line of lines) {
      if (line.statement.kind !== 'global') continue;
      for (const g of line.statement.names) if (!definedAt.has(g.name)) report(line, g.column, `global '${g.name}' is never defined`);
    }
  }
  // Place the sections: .text, the other initialised ones, then .bss.
  const orgAddress = org ?? 0;
  const order = [...sizes.keys()].filter((s) => s !== '.bss').concat(sizes.has('.bss') ? ['.bss'] : []);
  const bases = new Map<string, number>();
  const sections: SectionImage[] = [];
  let address = orgAddress;
  order.forEach((name, k) => {
    if (k > 0) address = alignUp(address, SECTION_ALIGNMENT);
    bases.set(name, address);
    const size = sizes.get(name)!;
    sections.push({ name, address, size, bytes: Uint8Array.from(contents.get(name) ?? []), nobits: name === '.bss' });
    address += size;
  });
  return { state: { symbols, bases, long, org: orgAddress, lineOffsets }, sections, labels, globals, errors };
}

/** The symbols' final addresses. */
function addresses(state: PassState): Map<string, Value> {
  return new Map([...state.symbols].map(([name, v]) => [name, v.section === null ? v : { value: v.value + BigInt(state.bases.get(v.section) ?? state.org), section: v.section }]));
}

export type LayoutResult = { readonly kind: 'ok'; readonly layout: Layout } | { readonly kind: 'error'; readonly errors: readonly AsmError[] };

/** Runs passes until the layout is stable, then the final pass. */
export function layout(lines: readonly ParsedLine[]): LayoutResult {
  let state: PassState = { symbols: new Map(), bases: new Map(), long: new Set(), org: 0 };
  for (let n = 0; n < MAX_PASSES; n++) {
    const result = pass(lines, state, false);
    const settled = n > 0 && sameState(result.state, state);
    state = result.state;
    if (!settled) continue;
    const last = pass(lines, state, true);
    if (last.errors.length > 0) return { kind: 'error', errors: last.errors };
    if (!sameState(last.state, state)) { state = last.state; continue; }
    return { kind: 'ok', layout: { org: last.state.org, sections: last.sections, symbols: addresses(last.state), labels: last.labels, globals: last.globals } };
  }
  const final = pass(lines, state, true);
  if (final.errors.length > 0) return { kind: 'error', errors: final.errors };
  const at = lines[0]?.at ?? { file: '?', line: 1, column: 1 };
  return { kind: 'error', errors: [asmError(at, `the layout did not settle after ${MAX_PASSES} passes (a size that depends on itself?)`)] };
}
