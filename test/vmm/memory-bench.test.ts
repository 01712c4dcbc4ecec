// bench/memory-modes.ts: the teaching kernel under each memory mode. The
// transcript must be the native one in every mode, and the counts must show
// what spec/memory.md says each mode pays for: shadow-multi keeps its
// shadows across the kernel's process switches (fewer page faults than
// shadow-single), direct lets the processor walk the tables (fewest).
import { describe, expect, it } from 'vitest';
import { benchMemoryModes, formatMemoryModes, teachMesoImage } from '../../bench/memory-modes';
import { observeNative } from '../../properties/vmm/equivalence';
import { join } from 'node:path';
import { assembleFile } from '../../properties/assemble-file';

describe('[MEM.MULTI.5] [MEM.DIRECT.4] memory modes on the teaching kernel', () => {
  it('same transcript as native in every mode; page faults: direct < shadow-multi < shadow-single', () => {
    const figures = benchMemoryModes(3_000_000, teachMesoImage());
    const teach = join(import.meta.dirname, '..', '..', 'guests', 'teach', 'teach.asm');
    const native = assembleFile(teach, { format: 'bin' });
    const expected = observeNative(native, 3_000_000, false).console;
    for (const f of figures) {
      expect(f.end).toBe('exit 1');
      expect(f.console).toBe(expected);
    }
    const [single, multi, direct] = figures.map((f) => f.pageFaults);
    expect(multi!).toBeLessThan(single!);
    expect(direct!).toBeLessThan(multi!);
    expect(formatMemoryModes(figures)).toContain('identical in every mode');
  }, 180_000);
});
