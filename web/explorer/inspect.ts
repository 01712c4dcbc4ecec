// What the explorer shows of a state, as plain tables of strings: registers,
// EFLAGS bits, segment caches, the descriptor tables, the page walk, the
// console and the monitor. Two snapshots' tables are compared cell by cell
// to highlight what a step changed. Reads memory without changing anything
// (no accessed bits set, no TLB filled): looking is not a step.
import type { StepEvent } from '../../model/machine';
import { decode } from '../../model/isa/decoder';
import { disassemble } from '../../model/isa/disassembler';
import { parseDescriptor, parseGate } from '../../model/cpu/descriptors';
import { consoleBytes } from '../../model/cpu/devices';
import { readPhysical } from '../../model/cpu/memory';
import { CR0_PG, CR4_PSE, PDE_LARGE, PTE_ACCESSED, PTE_DIRTY, PTE_PRESENT, PTE_USER, PTE_WRITABLE } from '../../model/cpu/paging';
import { REGISTER_NAMES, type MachineState, type SegmentRegister } from '../../model/cpu/state';
import type { Snapshot, Transition } from './session';

export interface Row {
  readonly key: string;
  readonly cells: readonly string[];
}

export interface Section {
  readonly id: string;
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly Row[];
  readonly note?: string;
}

export const hex32 = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
const hex16 = (n: number): string => `0x${(n & 0xffff).toString(16).padStart(4, '0')}`;
const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

const VECTOR_NAMES: Record<number, string> = {
  0: 'DE', 1: 'DB', 2: 'NMI', 3: 'BP', 4: 'OF', 5: 'BR', 6: 'UD', 7: 'NM', 8: 'DF',
  10: 'TS', 11: 'NP', 12: 'SS', 13: 'GP', 14: 'PF', 16: 'MF', 17: 'AC', 18: 'MC', 19: 'XM',
};

/** #GP(0x10), #UD, vector 0x20. */
export function vectorText(vector: number, errorCode: number | null): string {
  const name = VECTOR_NAMES[vector];
  const base = name !== undefined ? `#${name}` : `vector ${hex(vector)}`;
  return errorCode === null ? base : `${base}(${hex(errorCode)})`;
}

export function eventText(event: StepEvent | null): string {
  if (event === null) return 'nothing (the monitor had stopped the guest)';
  switch (event.kind) {
    case 'retired': return 'instruction retired';
    case 'exception': return `exception ${vectorText(event.vector, event.errorCode)} delivered`;
    case 'interrupt': return `interrupt ${hex(event.vector)} delivered`;
    case 'halted': return 'halted (HLT)';
    case 'shutdown': return `shutdown: ${event.reason}`;
    case 'exit': return `exit port: code ${event.code}`;
    case 'model-error': return `model error: ${event.message}`;
  }
}

// ------------------------------------------------------------------ memory

/** A page walk done only to look: each level's entry and what it grants. */
export interface Walk {
  readonly linear: number;
  readonly levels: ReadonlyArray<{ readonly name: string; readonly address: number; readonly entry: number }>;
  /** The physical address, or why there is none. */
  readonly physical: number | string;
}

const entryFlags = (e: number): string =>
  [e & PTE_PRESENT ? 'P' : '-', e & PTE_WRITABLE ? 'W' : 'R', e & PTE_USER ? 'U' : 'S', e & PTE_ACCESSED ? 'A' : '-', e & PTE_DIRTY ? 'D' : '-'].join('');

export function walk(state: MachineState, linear: number): Walk {
  linear >>>= 0;
  if ((state.cr0 & CR0_PG) === 0) return { linear, levels: [], physical: linear };
  const pdeAddress = ((state.cr3 & 0xfffff000) + ((linear >>> 22) << 2)) >>> 0;
  const pde = readPhysical(state.memory, pdeAddress, 4);
  const levels = [{ name: 'PDE', address: pdeAddress, entry: pde }];
  if ((pde & PTE_PRESENT) === 0) return { linear, levels, physical: 'directory entry not present' };
  if ((state.cr4 & CR4_PSE) !== 0 && (pde & PDE_LARGE) !== 0) {
    return { linear, levels, physical: ((pde & 0xffc00000) | (linear & 0x3fffff)) >>> 0 };
  }
  const pteAddress = ((pde & 0xfffff000) + (((linear >>> 12) & 0x3ff) << 2)) >>> 0;
  const pte = readPhysical(state.memory, pteAddress, 4);
  levels.push({ name: 'PTE', address: pteAddress, entry: pte });
  if ((pte & PTE_PRESENT) === 0) return { linear, levels, physical: 'table entry not present' };
  return { linear, levels, physical: ((pte & 0xfffff000) | (linear & 0xfff)) >>> 0 };
}

/** Bytes at a linear address, page by page; null where a page is not mapped or past RAM. */
function readLinear(state: MachineState, linear: number, length: number): number[] | null {
  const out: number[] = [];
  for (let i = 0; i < length; i++) {
    const w = walk(state, (linear + i) >>> 0);
    if (typeof w.physical === 'string' || w.physical >= state.memory.size) return i === 0 ? null : out;
    out.push(readPhysical(state.memory, w.physical, 1));
  }
  return out;
}

function readDword(state: MachineState, linear: number): number | null {
  const b = readLinear(state, linear, 4);
  return b === null || b.length < 4 ? null : (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
}

/** The instruction at CS:EIP, disassembled; null when its bytes cannot be read or decoded. */
export function instructionAt(state: MachineState): { text: string; length: number; mnemonic: string } | null {
  const bytes = readLinear(state, (state.segments.cs.base + state.eip) >>> 0, 15);
  if (bytes === null) return null;
  const d = decode(bytes);
  if (d.kind !== 'ok') return { text: `(${d.kind === 'undefined' ? 'undefined opcode' : d.kind})`, length: 0, mnemonic: '' };
  return { text: disassemble(d.instruction, state.eip), length: d.length, mnemonic: d.instruction.mnemonic };
}

/** Does the instruction at CS:EIP write a port (OUT, OUTS)? */
export function writesPort(state: MachineState): boolean {
  const i = instructionAt(state);
  return i !== null && /^outs?[bwd]?$/.test(i.mnemonic);
}

// ------------------------------------------------------------------ tables

const FLAG_BITS: ReadonlyArray<readonly [string, number, number]> = [
  ['CF', 0, 1], ['PF', 2, 1], ['AF', 4, 1], ['ZF', 6, 1], ['SF', 7, 1], ['TF', 8, 1], ['IF', 9, 1], ['DF', 10, 1],
  ['OF', 11, 1], ['IOPL', 12, 2], ['NT', 14, 1], ['RF', 16, 1], ['VM', 17, 1], ['AC', 18, 1], ['ID', 21, 1],
];

const SEGMENT_TYPES = ['data r', 'data r a', 'data rw', 'data rw a', 'data r down', 'data r down a', 'data rw down', 'data rw down a',
  'code x', 'code x a', 'code xr', 'code xr a', 'code x conf', 'code x conf a', 'code xr conf', 'code xr conf a'];
const SYSTEM_TYPES: Record<number, string> = {
  0x1: 'TSS16 avail', 0x2: 'LDT', 0x3: 'TSS16 busy', 0x4: 'call gate16', 0x5: 'task gate', 0x6: 'int gate16', 0x7: 'trap gate16',
  0x9: 'TSS32 avail', 0xb: 'TSS32 busy', 0xc: 'call gate32', 0xe: 'int gate32', 0xf: 'trap gate32',
};

/** Attributes as the cache keeps them ((high >>> 8) & 0xf0ff), in words. */
export function attributesText(attributes: number): string {
  const type = attributes & 0xf;
  const s = (attributes & 0x10) !== 0;
  const dpl = (attributes >>> 5) & 3;
  const p = (attributes & 0x80) !== 0;
  const big = (attributes & 0x4000) !== 0;
  const g = (attributes & 0x8000) !== 0;
  const kind = s ? SEGMENT_TYPES[type]! : (SYSTEM_TYPES[type] ?? `system ${type}`);
  return `${kind}, DPL ${dpl}${p ? '' : ', not present'}${s ? (big ? ', 32-bit' : ', 16-bit') : ''}${g ? ', G' : ''}`;
}

const segmentCells = (s: SegmentRegister): string[] =>
  [hex16(s.selector), hex32(s.base), hex32(s.limit), s.valid ? attributesText(s.attributes) : 'unusable (null)'];

function registers(m: MachineState): Section {
  const rows: Row[] = REGISTER_NAMES.map((name, i) => ({ key: name, cells: [name.toUpperCase(), hex32(m.regs[i]!)] }));
  rows.push({ key: 'eip', cells: ['EIP', hex32(m.eip)] });
  rows.push({ key: 'cpl', cells: ['CPL', String(m.segments.cs.selector & 3)] });
  rows.push({ key: 'count', cells: ['retired', String(m.instructionCount)] });
  rows.push({ key: 'halted', cells: ['halted', m.halted ? 'yes' : 'no'] });
  return { id: 'registers', title: 'Registers', columns: ['', 'value'], rows };
}

function eflags(m: MachineState): Section {
  const bits = FLAG_BITS.map(([, bit, width]) => String((m.eflags >>> bit) & ((1 << width) - 1)));
  return { id: 'eflags', title: 'EFLAGS', columns: ['value', ...FLAG_BITS.map(([name]) => name)], rows: [{ key: 'eflags', cells: [hex32(m.eflags), ...bits] }] };
}

function segments(m: MachineState): Section {
  const rows: Row[] = (['cs', 'ss', 'ds', 'es', 'fs', 'gs'] as const).map((n) => ({ key: n, cells: [n.toUpperCase(), ...segmentCells(m.segments[n])] }));
  rows.push({ key: 'ldtr', cells: ['LDTR', ...segmentCells(m.ldtr)] });
  rows.push({ key: 'tr', cells: ['TR', ...segmentCells(m.tr)] });
  return { id: 'segments', title: 'Segment registers and their caches', columns: ['', 'selector', 'base', 'limit', 'attributes'], rows };
}

const CR0_BITS: ReadonlyArray<readonly [string, number]> = [['PE', 0], ['MP', 1], ['EM', 2], ['TS', 3], ['ET', 4], ['NE', 5], ['WP', 16], ['AM', 18], ['CD', 30], ['PG', 31]];

function control(m: MachineState): Section {
  const cr0 = CR0_BITS.filter(([, b]) => (m.cr0 >>> b) & 1).map(([n]) => n).join(' ');
  return {
    id: 'control', title: 'Control and table registers', columns: ['', 'value', ''],
    rows: [
      { key: 'cr0', cells: ['CR0', hex32(m.cr0), cr0] },
      { key: 'cr2', cells: ['CR2', hex32(m.cr2), 'last #PF address'] },
      { key: 'cr3', cells: ['CR3', hex32(m.cr3), 'page directory'] },
      { key: 'cr4', cells: ['CR4', hex32(m.cr4), (m.cr4 & CR4_PSE) !== 0 ? 'PSE' : ''] },
      { key: 'gdtr', cells: ['GDTR', hex32(m.gdtr.base), `limit ${hex(m.gdtr.limit)}`] },
      { key: 'idtr', cells: ['IDTR', hex32(m.idtr.base), `limit ${hex(m.idtr.limit)}`] },
    ],
  };
}

/** The top of the stack: what an exception or a call just pushed. */
function stack(m: MachineState): Section {
  const rows: Row[] = [];
  for (let i = 0; i < 8; i++) {
    const offset = (m.regs[4]! + 4 * i) >>> 0;
    const value = readDword(m, (m.segments.ss.base + offset) >>> 0);
    rows.push({ key: `+${4 * i}`, cells: [`ESP+${4 * i}`, hex32(offset), value === null ? 'not mapped' : hex32(value)] });
  }
  return { id: 'stack', title: 'Stack (SS:ESP upward)', columns: ['', 'offset', 'dword'], rows };
}

/** How many table entries the explorer lists at most. */
export const TABLE_ROWS = 64;

function gdt(m: MachineState): Section {
  const count = Math.floor((m.gdtr.limit + 1) / 8);
  const rows: Row[] = [];
  for (let i = 0; i < Math.min(count, TABLE_ROWS); i++) {
    const low = readDword(m, m.gdtr.base + 8 * i);
    const high = readDword(m, m.gdtr.base + 8 * i + 4);
    if (low === null || high === null) { rows.push({ key: String(i), cells: [hex16(i * 8), 'not mapped', '', '', ''] }); continue; }
    if (low === 0 && high === 0) { rows.push({ key: String(i), cells: [hex16(i * 8), 'null', '', '', ''] }); continue; }
    const d = parseDescriptor(low, high);
    if (!d.codeOrData && [4, 5, 6, 7, 0xc, 0xe, 0xf].includes(d.type)) {
      const g = parseGate(low, high);
      rows.push({ key: String(i), cells: [hex16(i * 8), `-> ${hex16(g.selector)}:${hex32(g.offset)}`, '', attributesText(d.attributes), `${hex32(high)} ${hex32(low)}`] });
    } else {
      rows.push({ key: String(i), cells: [hex16(i * 8), hex32(d.base), hex32(d.limit), attributesText(d.attributes), `${hex32(high)} ${hex32(low)}`] });
    }
  }
  const note = count > TABLE_ROWS ? `${TABLE_ROWS} of ${count} entries shown` : undefined;
  return { id: 'gdt', title: 'GDT (as the processor reads it)', columns: ['selector', 'base / target', 'limit', 'kind', 'raw (high low)'], rows, ...(note !== undefined ? { note } : {}) };
}

function idt(m: MachineState): Section {
  const count = Math.floor((m.idtr.limit + 1) / 8);
  const rows: Row[] = [];
  for (let v = 0; v < Math.min(count, TABLE_ROWS); v++) {
    const low = readDword(m, m.idtr.base + 8 * v);
    const high = readDword(m, m.idtr.base + 8 * v + 4);
    if (low === null || high === null) { rows.push({ key: String(v), cells: [hex(v), 'not mapped', ''] }); continue; }
    const g = parseGate(low, high);
    const kind = SYSTEM_TYPES[g.type] ?? `type ${g.type}`;
    rows.push({ key: String(v), cells: [hex(v), g.present ? `${hex16(g.selector)}:${hex32(g.offset)}` : 'not present', `${kind}, DPL ${g.dpl}`] });
  }
  const note = count > TABLE_ROWS ? `${TABLE_ROWS} of ${count} vectors shown` : undefined;
  return { id: 'idt', title: 'IDT', columns: ['vector', 'handler', 'gate'], rows, ...(note !== undefined ? { note } : {}) };
}

function walkRows(label: string, w: Walk): Row[] {
  const rows: Row[] = [{ key: `${label}.linear`, cells: [label, hex32(w.linear), ''] }];
  for (const l of w.levels) rows.push({ key: `${label}.${l.name}`, cells: [`  ${l.name} at ${hex32(l.address)}`, hex32(l.entry), entryFlags(l.entry)] });
  rows.push({ key: `${label}.physical`, cells: ['  physical', typeof w.physical === 'number' ? hex32(w.physical) : w.physical, ''] });
  return rows;
}

/** The walk of the fetch of the instruction just executed, and of CR2 after a #PF. */
function paging(before: MachineState | null, after: MachineState, transition: Transition | null): Section {
  if ((after.cr0 & CR0_PG) === 0) return { id: 'paging', title: 'Page walk', columns: ['', 'value', 'flags'], rows: [], note: 'paging is off (CR0.PG = 0): linear = physical' };
  const rows: Row[] = [];
  if (before !== null) rows.push(...walkRows('fetch', walk(after, (before.segments.cs.base + before.eip) >>> 0)));
  const e = transition?.event;
  if (e?.kind === 'exception' && e.vector === 14) rows.push(...walkRows('#PF at CR2', walk(after, after.cr2)));
  return { id: 'paging', title: 'Page walk (entries as they are now, after the step)', columns: ['', 'value', 'flags P W/R U/S A D'], rows };
}

function monitor(s: Snapshot, previous: Snapshot | null): Section | null {
  const v = s.vmm;
  if (v === null) return null;
  const rows: Row[] = [
    { key: 'vcr0', cells: ['virtual CR0', hex32(v.vcpu.cr0)] },
    { key: 'vcr2', cells: ['virtual CR2', hex32(v.vcpu.cr2)] },
    { key: 'vcr3', cells: ['virtual CR3', hex32(v.vcpu.cr3)] },
    { key: 'vgdtr', cells: ['virtual GDTR', `${hex32(v.vcpu.gdtr.base)} limit ${hex(v.vcpu.gdtr.limit)}`] },
    { key: 'vidtr', cells: ['virtual IDTR', `${hex32(v.vcpu.idtr.base)} limit ${hex(v.vcpu.idtr.limit)}`] },
    { key: 'stopped', cells: ['stopped', v.stopped ?? 'no'] },
  ];
  for (const [reason, n] of Object.entries(v.exits).sort()) rows.push({ key: `exit.${reason}`, cells: [`exits: ${reason}`, String(n)] });
  const refusals = v.refusals.slice(-3);
  refusals.forEach((r, i) => rows.push({ key: `refusal.${i}`, cells: ['refused', r] }));
  const reason = previous?.vmm ? exitReason(previous.vmm.exits, v.exits) : null;
  return { id: 'monitor', title: 'Monitor', columns: ['', 'value'], rows, ...(reason !== null ? { note: `this step's exit: ${reason}` } : {}) };
}

/** The reason whose exit count this step raised. */
export function exitReason(before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>): string | null {
  for (const [reason, n] of Object.entries(after)) if (n !== (before[reason] ?? 0)) return reason;
  return null;
}

export function consoleText(m: MachineState): string {
  return new TextDecoder('latin1').decode(consoleBytes(m.devices.console));
}

/** Every table the explorer shows for a snapshot, the step that led to it given. */
export function inspect(s: Snapshot, previous: Snapshot | null, transition: Transition | null): Section[] {
  const m = s.machine;
  const sections = [registers(m), eflags(m), segments(m), control(m), stack(m), paging(previous?.machine ?? null, m, transition), gdt(m), idt(m)];
  const mon = monitor(s, previous);
  return mon === null ? sections : [...sections.slice(0, 4), mon, ...sections.slice(4)];
}

/** The cells that differ from the previous tables: `section/row/column` keys. */
export function changedCells(now: readonly Section[], before: readonly Section[] | null): Set<string> {
  const changed = new Set<string>();
  if (before === null) return changed;
  const old = new Map<string, readonly string[]>();
  for (const s of before) for (const r of s.rows) old.set(`${s.id}/${r.key}`, r.cells);
  for (const s of now) {
    for (const r of s.rows) {
      const was = old.get(`${s.id}/${r.key}`);
      r.cells.forEach((c, i) => { if (was === undefined || was[i] !== c) changed.add(`${s.id}/${r.key}/${i}`); });
    }
  }
  return changed;
}
