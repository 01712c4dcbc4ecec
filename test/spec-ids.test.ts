import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectRuleIds, ruleIdProblems, type IdOccurrence } from '../properties/spec/rule-ids';

const where = (list: IdOccurrence[]) => list.map((o) => `${o.id} (${o.file}:${o.line})`);

describe('rule ids tie spec, code and tests together', () => {
  const problems = ruleIdProblems(collectRuleIds(process.cwd()));

  it('the spec defines rule ids', () => {
    expect(collectRuleIds(process.cwd()).spec.length).toBeGreaterThan(0);
  });
  it('no id is defined twice in spec/', () => expect(where(problems.duplicatedInSpec)).toEqual([]));
  it('every spec rule is implemented in code', () => expect(where(problems.specWithoutCode)).toEqual([]));
  it('every spec rule is checked by a test', () => expect(where(problems.specWithoutTest)).toEqual([]));
  it('every id in code is defined in spec/', () => expect(where(problems.codeWithoutSpec)).toEqual([]));
  it('every id in a test is defined in spec/', () => expect(where(problems.testWithoutSpec)).toEqual([]));

  it('the checker itself finds each kind of mismatch', () => {
    const root = mkdtempSync(join(tmpdir(), 'mesovirt-ids-'));
    for (const dir of ['spec', 'model', 'test']) mkdirSync(join(root, dir));
    // Ids are built at run time so this file does not itself mention them.
    const ref = (id: string) => `[${id}]`;
    writeFileSync(join(root, 'spec/a.md'), '**A.ONE.1** x\n**A.TWO.1** y\n**A.TWO.1** again\n');
    writeFileSync(join(root, 'model/a.ts'), `// ${ref('A.ONE.1')}\n// ${ref('A.GHOST.1')}\n`);
    writeFileSync(join(root, 'test/a.test.ts'), `// ${ref('A.TWO.1')} ${ref('A.STRAY.9')}\n`);
    const p = ruleIdProblems(collectRuleIds(root));
    expect(p.duplicatedInSpec.map((o) => o.id)).toEqual(['A.TWO.1']);
    expect(p.specWithoutCode.map((o) => o.id)).toEqual(['A.TWO.1', 'A.TWO.1']);
    expect(p.specWithoutTest.map((o) => o.id)).toEqual(['A.ONE.1']);
    expect(p.codeWithoutSpec.map((o) => o.id)).toEqual(['A.GHOST.1']);
    expect(p.testWithoutSpec.map((o) => o.id)).toEqual(['A.STRAY.9']);
  });
});
