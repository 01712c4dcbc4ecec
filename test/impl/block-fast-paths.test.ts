// The fast paths of translated blocks (impl/block-inline.ts,
// impl/block-memory.ts, impl/fast-access.ts) change nothing but speed.
// Random hot loops of inlined instructions (memory operands through DS, ES
// and SS, pushes and pops, shifts, IMUL, ALU, forward and backward jumps
// inside the block) run under random segment caches (base, limit,
// expand-down, read-only), at CPL 0 or 3, with paging on or off (random
// present / writable / user / accessed / dirty bits, CR0.WP) and data that
// may share the code's frame (self-modifying code): a machine driven by
// run() (blocks) and one driven by step() (the interpreter, which the
// differential tests hold to the model) must see the same events at the same
// instruction counts and end in the same state and memory. Faults end the
// run in a triple fault (no IDT), after the same retired count on both.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { assembleText } from '../../model/isa/asm/assemble';
import { ImplMachine } from '../../impl/machine';
import { flatEntryState } from '../../properties/machines';
import { propertyParams } from '../../properties/seed';
import { CODE, DATA, EAGER, EDGE_CASES, MEMORY, TABLES, caseArb, compareLoop, source } from './block-loops';

describe('translated-block fast paths run exactly like the interpreter', () => {
  it('random hot loops over random segments, CPLs and page tables: same events, state and memory', () => {
    let translated = 0;
    fc.assert(fc.property(caseArb, (c) => {
      const run = compareLoop(c);
      expect(run.difference, source(c)).toBeNull();
      if (run.translated) translated++;
    }), propertyParams(300));
    // The property means something only if blocks ran in most cases.
    expect(translated).toBeGreaterThan(100);
  });

  it('fixed loops: flat reads that end past the end of RAM, a carry kept across INC and DEC', () => {
    for (const c of EDGE_CASES) {
      const run = compareLoop(c);
      expect(run.difference, source(c)).toBeNull();
      expect(run.translated).toBe(true);
    }
  });

  it('the first write through a TLB entry that reads filled sets the dirty bit, inside a block too (SDM 4.8)', () => {
    // The loop reads [ebx] from the start (the TLB entry is filled without D)
    // and starts writing it only after 20 iterations, when the loop runs as
    // a translated block: the write must walk again and set D in the PTE.
    const r = assembleText({ 'd.asm': `bits 32
org ${CODE}
top:
  mov eax, [ebx]
  cmp ecx, 980
  ja skip
  mov [ebx], edx
skip:
  dec ecx
  jnz top
  jmp top
` }, 'd.asm', { format: 'bin' });
    if (r.kind !== 'ok') throw new Error('does not assemble');
    for (const drive of ['run', 'step'] as const) {
      const m = new ImplMachine(MEMORY);
      m.cpu.blockThresholds = EAGER;
      m.writePhysical(CODE, r.bytes);
      const directory = new DataView(new ArrayBuffer(4096)), table = new DataView(new ArrayBuffer(4096));
      directory.setUint32(0, (TABLES + 0x1000) | 0x27, true);
      for (let p = 0; p < 1024; p++) table.setUint32(p * 4, (p << 12) | 0x67, true);
      table.setUint32((DATA >>> 12) * 4, DATA | 0x27, true); // present, writable, user, accessed, not dirty
      m.writePhysical(TABLES, new Uint8Array(directory.buffer));
      m.writePhysical(TABLES + 0x1000, new Uint8Array(table.buffer));
      const entry = flatEntryState(CODE, 0x90000);
      m.setState({ ...entry, regs: { ...entry.regs, ebx: DATA, ecx: 1000, edx: 7 }, cr3: TABLES, cr0: 0x80000011 });
      if (drive === 'run') expect(m.run(3000)).toEqual({ kind: 'retired' });
      else for (let i = 0; i < 3000; i++) m.step();
      expect(m.state().instructionCount).toBe(3000);
      expect(new DataView(m.readPhysical(TABLES + 0x1000 + (DATA >>> 12) * 4, 4).buffer).getUint32(0, true)).toBe(DATA | 0x67);
      if (drive === 'run') expect(m.blockStats().runs).toBeGreaterThan(0);
    }
  });
});
