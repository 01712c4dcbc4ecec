// Rule ids tie the prose of spec/ to the code that implements each rule and
// to the tests that check it. In spec/*.md a rule is written **AREA.TOPIC.N**;
// in code and tests the same id stands in square brackets.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseSpecRules, RULE_ID, rulesById, type SpecRule } from './rule-text';

const ID = RULE_ID;
const SPEC_ID = new RegExp(`\\*\\*(${ID})\\*\\*`, 'g');
const CODE_ID = new RegExp(`\\[(${ID})\\]`, 'g');

export interface IdOccurrence {
  readonly id: string;
  readonly file: string;
  readonly line: number;
}

function filesUnder(root: string, extension: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    if (name === 'node_modules') return [];
    const path = join(root, name);
    if (statSync(path).isDirectory()) return filesUnder(path, extension);
    return path.endsWith(extension) ? [path] : [];
  });
}

function occurrences(files: string[], pattern: RegExp, base: string): IdOccurrence[] {
  return files.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((text, index) =>
        [...text.matchAll(pattern)].map((m) => ({ id: m[1]!, file: relative(base, file), line: index + 1 })),
      ),
  );
}

export interface RuleIdIndex {
  readonly spec: IdOccurrence[];
  readonly code: IdOccurrence[];
  readonly tests: IdOccurrence[];
}

/** Collects rule ids from spec/ (definitions), model/, properties/ and gandalf/ (code), test/ (tests). */
export function collectRuleIds(projectRoot: string): RuleIdIndex {
  const under = (dir: string, ext: string) => filesUnder(join(projectRoot, dir), ext);
  return {
    spec: occurrences(under('spec', '.md'), SPEC_ID, projectRoot),
    code: occurrences([...under('model', '.ts'), ...under('properties', '.ts'), ...under('gandalf', '.asm'), ...under('gandalf', '.inc')], CODE_ID, projectRoot),
    tests: occurrences(under('test', '.ts'), CODE_ID, projectRoot),
  };
}

export interface RuleIdProblems {
  readonly duplicatedInSpec: IdOccurrence[];
  readonly specWithoutCode: IdOccurrence[];
  readonly specWithoutTest: IdOccurrence[];
  readonly codeWithoutSpec: IdOccurrence[];
  readonly testWithoutSpec: IdOccurrence[];
}

export function ruleIdProblems(index: RuleIdIndex): RuleIdProblems {
  const ids = (list: IdOccurrence[]) => new Set(list.map((o) => o.id));
  const specIds = ids(index.spec);
  const codeIds = ids(index.code);
  const testIds = ids(index.tests);
  const seen = new Set<string>();
  const duplicatedInSpec = index.spec.filter((o) => (seen.has(o.id) ? true : (seen.add(o.id), false)));
  return {
    duplicatedInSpec,
    specWithoutCode: index.spec.filter((o) => !codeIds.has(o.id)),
    specWithoutTest: index.spec.filter((o) => !testIds.has(o.id)),
    codeWithoutSpec: index.code.filter((o) => !specIds.has(o.id)),
    testWithoutSpec: index.tests.filter((o) => !specIds.has(o.id)),
  };
}

/** Every rule spec/*.md defines, with its text and first sentence (rule-text.ts), by id. */
export function loadSpecRules(projectRoot: string): ReadonlyMap<string, SpecRule> {
  const files = filesUnder(join(projectRoot, 'spec'), '.md').sort();
  return rulesById(files.flatMap((file) => parseSpecRules(relative(projectRoot, file), readFileSync(file, 'utf8'))));
}
