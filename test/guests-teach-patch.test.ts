// patchSize counts the lines of a guest's mesovirtualization patch: code
// lines that only one of the two builds (native, -DMESO) assembles.  The
// expected counts below are counted by hand from the small sources.
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { patchSize } from '../properties/patch-size';

describe('patchSize', () => {
  it('counts nothing in a source without MESO blocks', () => {
    expect(patchSize('mov eax, 1\n%ifdef TRACE\nout 0xe9, al\n%endif\n')).toEqual({ blocks: 0, mesoOnly: 0, nativeOnly: 0, lines: 0 });
  });

  it('counts both arms of an %ifdef MESO, skipping blanks, comments and directives', () => {
    const source = [
      'mov eax, 1',
      '%ifdef MESO',
      '; [meso] why', //   comment: not counted
      'sti',          //   meso 1
      '',
      'nop ; same',   //   meso 2
      '%else',
      'cli',          //   native 1
      '%endif',
      'ret',
    ].join('\n');
    expect(patchSize(source)).toEqual({ blocks: 1, mesoOnly: 2, nativeOnly: 1, lines: 3 });
  });

  it('treats %ifndef MESO as the native arm first', () => {
    expect(patchSize('%ifndef MESO\na\nb\n%else\nc\n%endif')).toEqual({ blocks: 1, mesoOnly: 1, nativeOnly: 2, lines: 3 });
  });

  it('counts a nested conditional on another symbol as patch lines, and nested MESO blocks by the innermost', () => {
    const source = '%ifdef MESO\n%ifdef X\na\n%endif\n%endif\n%ifdef Y\n%ifdef MESO\nb\n%endif\nc\n%endif';
    // meso-only: %ifdef X, a, %endif (3) and b (1); c is in both builds.
    expect(patchSize(source)).toEqual({ blocks: 2, mesoOnly: 4, nativeOnly: 0, lines: 4 });
  });

  it('does not take a ; inside a string for a comment', () => {
    expect(patchSize('%ifdef MESO\ndb "a;b"\n; only a comment\n%endif')).toEqual({ blocks: 1, mesoOnly: 1, nativeOnly: 0, lines: 1 });
  });

  it('rejects unbalanced conditionals', () => {
    expect(() => patchSize('%endif')).toThrow(/line 1/);
    expect(() => patchSize('%ifdef MESO\nx')).toThrow(/unterminated/);
  });

  it('measures the teaching kernel: 2 places, the ring and limit constants and the STI before IRET', () => {
    const dir = join(import.meta.dirname, '..', 'guests', 'teach');
    const source = readdirSync(dir).filter((f) => /\.(asm|inc)$/.test(f)).sort()
      .map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    // config.inc: KRING and SEG_LIMIT, one line each per arm (2 + 2);
    // interrupts.inc: test, jz, sti, label (4, meso only).
    expect(patchSize(source)).toEqual({ blocks: 2, mesoOnly: 6, nativeOnly: 2, lines: 8 });
  });
});
