// What a host-CPU case leaves out of the comparison is the model's word
// (DIFF.CASE.2, INS.RESULT.1), checked here against the case templates,
// whose masks were written separately from the manual's "Flags Affected"
// sections: two derivations that must agree. A model that forgot to mark a
// flag undefined would make the host comparison demand the host's answer
// there, and fail on the other vendor; this test catches it on any host.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelUndefinedParts } from '../../properties/cases/check';
import { CASE_MEMORY_BYTES } from '../../properties/cases/machines';
import { createModelMachine } from '../../properties/machines/model';
import { FAMILIES, drawSources, unrunCase } from '../../properties/oracles/hostcpu/generate';
import { assembleCases } from '../../properties/oracles/hostcpu/harness';
import { propertySeed } from '../../properties/seed';
import { oracleAvailable } from '../../properties/tools';

const hex = (n: number): string => `0x${n.toString(16)}`;

describe.runIf(oracleAvailable('nasm'))('undefined parts of generated cases: model against templates', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'mesovirt-undefined-'));
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));
  const seed = propertySeed();
  const model = createModelMachine(CASE_MEMORY_BYTES);

  it.each(FAMILIES.map((f) => [f.name] as const))('%s: the model marks exactly the flags the template declares', (family) => {
    const drawn = drawSources({ seed, countPerFamily: 150, families: [family] });
    const code = assembleCases(drawn.map((d) => d.source.lines), 32, workDir);
    const disagreements: string[] = [];
    drawn.forEach((d, i) => {
      const parts = modelUndefinedParts(model, unrunCase(d, code[i]!.bytes));
      // A template states the mask of a sequence that runs to its end; a
      // one-instruction case that faults wrote no flag (EXC.FAULT.1).
      const declared = parts.faulted && d.source.lines.length === 1 ? 0 : d.source.undefinedFlags;
      if (parts.flags !== declared) {
        disagreements.push(`${d.name}: template ${hex(declared)} model ${hex(parts.flags)}`);
      }
    });
    expect(disagreements.slice(0, 10)).toEqual([]);
  });

  it('shiftd and bitops draw undefined results, and the model names the register', () => {
    const drawn = drawSources({ seed, countPerFamily: 200, families: ['shiftd', 'bitops'] });
    const code = assembleCases(drawn.map((d) => d.source.lines), 32, workDir);
    const marked = drawn.map((d, i) => ({ d, parts: modelUndefinedParts(model, unrunCase(d, code[i]!.bytes)) }))
      .filter(({ parts }) => parts.registers.length > 0);
    // Worked from the manual: only a 16-bit double shift by 17..31 or a bit
    // scan of zero leaves a result undefined, and the register named is the
    // destination, the first operand of the line.
    expect(marked.length).toBeGreaterThan(10);
    for (const { d, parts } of marked) {
      const line = d.source.lines[0] as string;
      const undefinedByManual = /^sh[lr]d \w\w, \w\w, (cl|\d+)$/.test(line) || /^bs[fr] /.test(line);
      expect(undefinedByManual, line).toBe(true);
      const dest = line.split(/[ ,]+/)[1]!;
      expect(parts.registers).toEqual([dest.length === 2 ? `e${dest}` : dest]);
    }
  });
});
