// DIFF over whole guests: every guest image runs on the model and on impl in
// lock step, compared after every step (state, event) and on memory at the
// end; both must reach the guest's exit.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble } from '../../model/isa/asm/assemble';
import { loadMultiboot } from '../../model/boot/multiboot';
import { createModelMachine } from '../../properties/machines/model';
import { createImplMachine } from '../../properties/machines/impl';
import { lockstep, memoryDifferences } from '../../properties/diff/lockstep';

const MEMORY = 16 << 20;

function build(path: string, format: 'bin' | 'elf'): Uint8Array {
  const result = assemble(path, (file) => {
    for (const candidate of [file, resolve(dirname(path), file)]) {
      try { return readFileSync(candidate, 'utf8'); } catch { /* try the next */ }
    }
    return null;
  }, { format });
  if (result.kind !== 'ok') throw new Error(JSON.stringify(result.errors.slice(0, 3)));
  return result.bytes;
}

describe('DIFF: guests in lock step', () => {
  for (const [path, format] of [['guests/hello/hello.asm', 'elf'], ['guests/teach/teach.asm', 'bin']] as const) {
    it(`${path} runs to the same exit on both machines, step for step`, () => {
      const image = build(path, format);
      const model = createModelMachine(MEMORY), impl = createImplMachine(MEMORY);
      const loaded = loadMultiboot(image, MEMORY);
      if (loaded.kind !== 'ok') throw new Error(loaded.message);
      for (const machine of [model, impl]) {
        for (const w of loaded.writes) machine.writePhysical(w.address, w.bytes);
        machine.setState(loaded.entry);
      }
      const run = lockstep(model, impl, 5_000_000);
      expect(run.divergence).toBeNull();
      expect(run.last).toEqual({ kind: 'exit', code: 1 });
      expect(memoryDifferences(model, impl, 0, 4 << 20)).toEqual([]);
      expect(impl.consoleOutput()).toEqual(model.consoleOutput());
      process.stderr.write(`[lockstep] ${path}: ${run.steps} steps compared\n`);
    });
  }
});
