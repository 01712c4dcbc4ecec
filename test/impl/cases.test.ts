// issue 5 item 4: impl passes the committed host-CPU corpus (cases/hostcpu,
// final states recorded from a real processor) with no exclusions at all.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCaseFile } from '../../properties/cases/codec';
import { checkCases, failureLine } from '../../properties/cases/check';
import { CASE_MEMORY_BYTES } from '../../properties/cases/machines';
import { createImplMachine } from '../../properties/machines/impl';

const dir = 'cases/hostcpu';
const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();

describe('impl on the host-CPU corpus', () => {
  it('has a corpus to check', () => expect(files.length).toBeGreaterThan(0));
  for (const file of files) {
    it(`${file}: 0 failed`, () => {
      const parsed = parseCaseFile(readFileSync(join(dir, file), 'utf8'), file);
      if (parsed.kind !== 'ok') throw new Error(JSON.stringify(parsed).slice(0, 500));
      const summary = checkCases(createImplMachine(CASE_MEMORY_BYTES), parsed.cases);
      expect(summary.verdicts.filter((v) => v.differences.length > 0).map(failureLine)).toEqual([]);
      expect(summary.passed).toBe(parsed.cases.length);
    });
  }
});
