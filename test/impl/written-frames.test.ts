// impl records the frames it writes (impl/memory.ts recordWrittenFrames),
// by every writer of RAM: for each class of writer (test/impl/written-frames.ts)
// the frames recorded are exactly those whose bytes changed, found by
// comparing RAM with a copy taken before the run; and each mutant that makes
// one writer skip the record is caught by it. The frames each program must
// change are written by hand, so a program that stopped exercising its
// writer fails too.
import { afterEach, describe, expect, it } from 'vitest';
import { mutation, type MutantId } from '../../impl/mutants';
import { ImplMachine } from '../../impl/machine';
import { WRITE_PATHS, runWritePath, unrecordedWritePaths } from './written-frames';

describe('impl records every frame it writes, by every writer of RAM', () => {
  afterEach(() => { mutation.active = null; });

  for (const p of WRITE_PATHS) {
    it(p.name, () => {
      const r = runWritePath(p);
      for (const frame of p.frames) expect(r.changed, `frame 0x${frame.toString(16)} changed`).toContain(frame);
      expect(r.recorded).toEqual(r.changed);
      if (p.blocksAfter !== undefined) expect(r.blocksRun).toBeGreaterThan(0);
    });
  }

  it('records nothing unless asked, and a frame once per recording', () => {
    const m = new ImplMachine(1 << 20);
    expect(m.writtenPages()).toBeNull();
    m.writePhysical(0x3000, Uint8Array.of(1));
    expect(m.writtenPages()).toBeNull();
    m.cpu.memory.recordWrittenFrames();
    m.writePhysical(0x5ffe, Uint8Array.of(1, 2, 3));
    m.cpu.memory.write32(0x5000, 7);
    m.cpu.memory.write8(0x2000, 7);
    expect(m.writtenPages()).toEqual([0x2000, 0x5000, 0x6000]);
    m.release();
    const recording = new ImplMachine(1 << 20, { recordWrites: true });
    expect(recording.writtenPages()).toEqual([]);
    recording.writePhysical(0xfffff, Uint8Array.of(1, 2)); // the second byte is past RAM
    expect(recording.writtenPages()).toEqual([0xff000]);
    recording.release();
  });

  const killers: Array<[MutantId, RegExp]> = [
    ['first-write-unrecorded', /interpreter/],
    ['fast-store-skips-record', /translated block, flat/],
    ['block-store-skips-record', /translated block, paged/],
    ['push-frame-skips-record', /inner ring/],
  ];
  for (const [id, path] of killers) {
    it(`kills ${id}`, () => {
      expect(unrecordedWritePaths()).toEqual([]);
      mutation.active = id;
      expect(unrecordedWritePaths().some((name) => path.test(name))).toBe(true);
    });
  }
});
