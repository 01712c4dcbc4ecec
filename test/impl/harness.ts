// A small bare machine for impl's unit tests: a GDT, an IDT whose gates lead
// to one-instruction handlers (HLT) in ring 0, a TSS with a ring-0 stack,
// and optional identity paging. Code is assembled by nasm (an outside tool).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommonState, Machine, SegmentRegister } from '../../model/machine';
import { ImplMachine } from '../../impl/machine';

export const GDT = 0x1000, IDT = 0x2000, TSS = 0x2800, HANDLERS = 0x3000, STACK0 = 0x9000, CODE = 0x10000;
export const PAGE_DIRECTORY = 0x20000, PAGE_TABLE = 0x21000;
export const SEL = { code0: 0x08, data0: 0x10, code3: 0x1b, data3: 0x23, tss: 0x28, spare: 0x30 } as const;
/** Descriptor attributes as in the cache: (high >>> 8) & 0xf0ff. */
export const ATTR = { code0: 0xc09a, data0: 0xc092, code3: 0xc0fa, data3: 0xc0f2, tss: 0x0089 } as const;

export function assemble(source: string, org = CODE): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'impl-test-'));
  writeFileSync(join(dir, 'a.asm'), `bits 32\norg ${org}\n${source}\n`);
  execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), join(dir, 'a.asm')]);
  return new Uint8Array(readFileSync(join(dir, 'a.bin')));
}

export function descriptor(base: number, rawLimit: number, attributes: number): [number, number] {
  const low = ((rawLimit & 0xffff) | ((base & 0xffff) << 16)) >>> 0;
  const high = (((base >>> 16) & 0xff) | ((attributes & 0xf0ff) << 8) | (rawLimit & 0xf0000) | (base & 0xff000000)) >>> 0;
  return [low, high];
}

export const segment = (selector: number, base: number, limit: number, attributes: number): SegmentRegister =>
  ({ selector, base, limit, attributes, valid: true });

export function dword(machine: Machine, address: number, value: number): void {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value >>> 0, true);
  machine.writePhysical(address, b);
}
export function readDword(machine: Machine, address: number): number {
  return new DataView(machine.readPhysical(address, 4).buffer).getUint32(0, true);
}

export interface Setup {
  ring?: 0 | 3;
  paging?: boolean;
  eflags?: number;
  /** Extra GDT entry at selector 0x30 (base, raw limit, attributes). */
  spare?: [number, number, number];
}

/** A machine with `code` at CODE, ready to run at the given ring. */
export function bareMachine(code: Uint8Array, setup: Setup = {}): ImplMachine {
  return bareMachineOn(new ImplMachine(4 << 20), code, setup);
}

/** The same layout on any machine (the model too, for lock-step runs). */
export function bareMachineOn<M extends Machine>(m: M, code: Uint8Array, setup: Setup = {}): M {
  const entries: Array<[number, number]> = [
    [0, 0], descriptor(0, 0xfffff, ATTR.code0), descriptor(0, 0xfffff, ATTR.data0),
    descriptor(0, 0xfffff, ATTR.code3), descriptor(0, 0xfffff, ATTR.data3), descriptor(TSS, 0x67, ATTR.tss),
    setup.spare ? descriptor(...setup.spare) : [0, 0],
  ];
  entries.forEach(([low, high], i) => { dword(m, GDT + 8 * i, low); dword(m, GDT + 8 * i + 4, high); });
  for (let v = 0; v < 32; v++) {
    const handler = HANDLERS + 16 * v;
    m.writePhysical(handler, new Uint8Array([0xf4])); // hlt
    dword(m, IDT + 8 * v, (SEL.code0 << 16) | (handler & 0xffff));
    dword(m, IDT + 8 * v + 4, (handler & 0xffff0000) | 0x8e00); // present interrupt gate, DPL 0
  }
  dword(m, TSS + 4, STACK0); dword(m, TSS + 8, SEL.data0); dword(m, TSS + 0x64, 0x68 << 16);
  if (setup.paging) {
    dword(m, PAGE_DIRECTORY, PAGE_TABLE | 7);
    for (let i = 0; i < 1024; i++) dword(m, PAGE_TABLE + 4 * i, (i << 12) | 7);
  }
  m.writePhysical(CODE, code);
  const user = setup.ring === 3;
  const cs = user ? segment(SEL.code3, 0, 0xffffffff, ATTR.code3) : segment(SEL.code0, 0, 0xffffffff, ATTR.code0);
  const ds = user ? segment(SEL.data3, 0, 0xffffffff, ATTR.data3) : segment(SEL.data0, 0, 0xffffffff, ATTR.data0);
  const state: CommonState = {
    regs: { eax: 0, ecx: 0, edx: 0, ebx: 0, esp: 0x8000, ebp: 0, esi: 0, edi: 0 },
    eip: CODE,
    eflags: setup.eflags ?? 2,
    segments: { es: ds, cs, ss: ds, ds, fs: ds, gs: ds },
    cr0: setup.paging ? 0x80000011 : 0x11, cr2: 0, cr3: setup.paging ? PAGE_DIRECTORY : 0, cr4: 0,
    gdtr: { base: GDT, limit: 8 * entries.length - 1 },
    idtr: { base: IDT, limit: 8 * 32 - 1 },
    ldtr: { selector: 0, base: 0, limit: 0, attributes: 0, valid: false },
    tr: { selector: SEL.tss, base: TSS, limit: 0x67, attributes: 0x8b, valid: true },
    halted: false,
    instructionCount: 0,
  };
  m.setState(state);
  return m;
}

/** Step until HLT has run (or an exception handler's HLT), collecting events. */
export function runToHalt(m: Machine, limit = 10_000): Array<ReturnType<Machine['step']>> {
  const events = [];
  for (let i = 0; i < limit; i++) {
    const e = m.step();
    events.push(e);
    if (m.state().halted || e.kind === 'shutdown' || e.kind === 'model-error') return events;
  }
  throw new Error('did not halt');
}

export const handlerFor = (vector: number): number => HANDLERS + 16 * vector;
