// Small programs, one per class of impl's writers of RAM, run on a machine
// recording the frames it writes (impl/memory.ts recordWrittenFrames): the
// interpreter's stores and pushes, a translated block's inline stores and
// its calls into fast-access.ts (flat and paged), the frames an interrupt or
// exception pushes (to the same ring and to an inner one), REP STOS and REP
// MOVS, the accessed and dirty bits a page walk sets, the accessed bit of a
// descriptor loaded into a segment register, and writePhysical. For each,
// the frames recorded must be exactly the frames whose bytes changed,
// found by comparing RAM with a copy taken before the run (not by impl).
// Recording restarts after the program is loaded (and, for the blocks,
// after a first run has compiled them), so that the frames holding code
// are not yet written when the run starts: a writer that goes straight to
// RAM in a frame it sees holds code but none under the write is then
// caught too. test/impl/written-frames.test.ts asserts it; the impl
// mutants test uses unrecordedWritePaths to kill the mutants that make one
// writer skip the record (impl/mutants.ts *-skips-record,
// first-write-unrecorded).
import { assembleText } from '../../model/isa/asm/assemble';
import { ImplMachine } from '../../impl/machine';
import type { MutantId } from '../../impl/mutants';
import { CODE, PAGE_DIRECTORY, PAGE_TABLE, bareMachineOn, runToHalt, type Setup } from './harness';

/** The mutants of the record itself: no run changes, only the frames recorded (the mutants test kills these, and only these, with unrecordedWritePaths). */
export const RECORDING_MUTANTS: readonly MutantId[] = ['first-write-unrecorded', 'fast-store-skips-record', 'block-store-skips-record', 'push-frame-skips-record'];

export interface WritePath {
  readonly name: string;
  readonly source: string;
  readonly setup?: Setup;
  /** Run with run() and translated blocks compiled early, after a first run of this many instructions. */
  readonly blocksAfter?: number;
  /** Written by hand: frames (physical address >> 12) the program must change. */
  readonly frames: readonly number[];
  /** Called after loading, with recording on (writePhysical's own case). */
  readonly write?: (m: ImplMachine) => void;
}

const LOOP = `
      mov edi, 0x50000
      mov ecx, 200
    again:
      mov [edi], ecx
      mov [counter], ecx
      add edi, 0x100
      dec ecx
      jnz again
      hlt
    counter: dd 0`;

export const WRITE_PATHS: readonly WritePath[] = [
  {
    name: 'interpreter: stores of 1, 2 and 4 bytes (one across frames) and a push',
    source: `
      mov dword [0x40000], 0x11223344
      mov byte [0x41fff], 5
      mov word [0x42ffe], 0x1234
      mov dword [0x43ffe], 0xaabbccdd
      push dword 0x55
      hlt`,
    frames: [0x40, 0x41, 0x42, 0x43, 0x44, 0x7],
  },
  { name: 'translated block, flat (inline stores, fast-access.ts on a first write)', source: LOOP, blocksAfter: 40, frames: [0x10, 0x50, 0x55, 0x5c] },
  { name: 'translated block, paged (TLB guesses, walkAhead, fast-access.ts)', source: LOOP, setup: { paging: true }, blocksAfter: 40, frames: [0x10, 0x50, 0x55, 0x5c] },
  {
    name: 'delivery to the same ring (pushFrame): INT3 at CPL 0',
    source: 'mov eax, 1\nint3\nhlt',
    frames: [0x7],
  },
  {
    name: 'delivery to an inner ring (pushRingFrame): #UD at CPL 3 onto the TSS stack',
    source: 'mov eax, 1\nud2\nhlt',
    setup: { ring: 3 },
    frames: [0x8],
  },
  {
    name: 'REP STOSD and REP MOVSB across frames',
    source: `
      cld
      mov edi, 0x60ff0
      mov ecx, 0x20
      mov eax, 0x01020304
      rep stosd
      mov esi, ${CODE}
      mov edi, 0x62ffe
      mov ecx, 300
      rep movsb
      hlt`,
    frames: [0x60, 0x61, 0x62, 0x63],
  },
  {
    name: 'page walk: accessed and dirty bits in the page directory and table',
    source: 'mov eax, [0x70000]\nmov dword [0x71000], 1\nhlt',
    setup: { paging: true },
    frames: [PAGE_DIRECTORY >>> 12, PAGE_TABLE >>> 12, 0x71],
  },
  {
    name: 'descriptor accessed bit: MOV DS loads a data descriptor not yet accessed',
    source: 'mov ax, 0x30\nmov ds, ax\nhlt',
    setup: { spare: [0, 0xfffff, 0xc092] },
    frames: [0x1],
  },
  {
    name: 'writePhysical across frames',
    source: 'hlt',
    write: (m) => m.writePhysical(0x7fffe, Uint8Array.of(1, 2, 3, 4)),
    frames: [0x7f, 0x80],
  },
];

const MEMORY = 4 << 20;

export interface PathRun { readonly recorded: readonly number[]; readonly changed: readonly number[]; readonly blocksRun: number }

/** Run `p` on impl recording its writes: the frames recorded, and those whose bytes changed. */
export function runWritePath(p: WritePath): PathRun {
  const r = assembleText({ 'p.asm': `bits 32\norg ${CODE}\n${p.source}\n` }, 'p.asm', { format: 'bin' });
  if (r.kind !== 'ok') throw new Error(`${p.name}: ${r.errors.map((e) => e.message).join('; ')}`);
  const m = bareMachineOn(new ImplMachine(MEMORY), r.bytes, p.setup);
  try {
    if (p.blocksAfter !== undefined) {
      m.cpu.blockThresholds = { loop: 4, straight: 4 };
      m.run(p.blocksAfter);
    }
    m.cpu.memory.recordWrittenFrames();
    const before = m.readPhysical(0, MEMORY);
    const runsBefore = m.blockStats().runs;
    p.write?.(m);
    if (p.blocksAfter !== undefined) {
      for (let k = 0; k < 100 && !m.state().halted; k++) m.run(10_000);
      if (!m.state().halted) throw new Error(`${p.name}: did not halt`);
    } else runToHalt(m);
    const after = m.viewPhysical(0, MEMORY);
    const changed: number[] = [];
    for (let frame = 0; frame < MEMORY >>> 12; frame++) {
      const at = frame << 12;
      if (!Buffer.from(before.buffer, at, 4096).equals(Buffer.from(after.buffer, after.byteOffset + at, 4096))) changed.push(frame);
    }
    return { recorded: m.cpu.memory.writtenFrames() ?? [], changed, blocksRun: m.blockStats().runs - runsBefore };
  } finally {
    m.release();
  }
}

/** The names of the write paths whose recorded frames are not exactly the frames they changed. */
export function unrecordedWritePaths(): string[] {
  return WRITE_PATHS.filter((p) => {
    const r = runWritePath(p);
    return r.recorded.length !== r.changed.length || r.recorded.some((f, i) => f !== r.changed[i]);
  }).map((p) => p.name);
}
