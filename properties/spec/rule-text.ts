// The spec's own words for each rule id: the paragraph that defines it in
// spec/*.md and that paragraph's first sentence. Pure (no node: modules), so
// the browser explorer can use it on the markdown it bundles; rule-ids.ts
// reads the files from disk (loadSpecRules).

/** A rule id: AREA.TOPIC.N (or AREA.NAME for the invariants). */
export const RULE_ID = '[A-Z][A-Z0-9]*(?:\\.[A-Z0-9]+)+';

/** One rule as the spec defines it. */
export interface SpecRule {
  readonly id: string;
  /** The spec file, relative to the project (spec/segmentation.md). */
  readonly file: string;
  /** 1-based line of the definition. */
  readonly line: number;
  /** The definition's text after the id, on one line (a table row: its cells joined by " — "). */
  readonly text: string;
  /** The first sentence of `text`. */
  readonly sentence: string;
}

const DEFINITION = new RegExp(`\\*\\*(${RULE_ID})\\*\\*`);

/** Words whose trailing period does not end a sentence. */
const ABBREVIATIONS = new Set(['e.g', 'i.e', 'vol', 'cf', 'etc', 'fig', 'no', 'vs', 'approx', 'resp', 'sec']);

/**
 * [EXPLAIN.TEXT.1] The first sentence of a rule's text: up to the first '.', '!' or '?' that
 * is followed by a space and a capital (or a quote, bracket or #) or ends
 * the text, skipping abbreviations (e.g., vol.) and periods inside numbers.
 */
export function firstSentence(text: string): string {
  const t = text.trim();
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (c !== '.' && c !== '!' && c !== '?') continue;
    const rest = t.slice(i + 1);
    if (rest.length > 0 && !/^\s+[A-Z(#*`"'\u201c]/.test(rest)) continue;
    const word = /([A-Za-z.]+)$/.exec(t.slice(0, i))?.[1]?.toLowerCase() ?? '';
    if (c === '.' && ABBREVIATIONS.has(word)) continue;
    return t.slice(0, i + 1);
  }
  return t;
}

/** The rules one spec file defines, in order. `file` is how to name it. */
export function parseSpecRules(file: string, markdown: string): SpecRule[] {
  const lines = markdown.split('\n');
  const rules: SpecRule[] = [];
  lines.forEach((line, index) => {
    const m = DEFINITION.exec(line);
    if (m === null) return;
    const id = m[1]!;
    let text: string;
    if (line.trimStart().startsWith('|')) {
      // A table row: the cells after the id's cell.
      const cells = line.split('|').map((c) => c.trim()).filter((c) => c.length > 0);
      text = cells.slice(cells.findIndex((c) => c.includes(`**${id}**`)) + 1).join(' — ');
    } else {
      // A paragraph: from after the id to the next blank line or heading.
      const parts = [line.slice(m.index + m[0].length)];
      for (let j = index + 1; j < lines.length; j++) {
        const next = lines[j]!;
        if (next.trim() === '' || /^#{1,6}\s/.test(next) || DEFINITION.test(next)) break;
        parts.push(next);
      }
      text = parts.map((p) => p.trim()).join(' ').trim();
    }
    rules.push({ id, file, line: index + 1, text, sentence: firstSentence(text) });
  });
  return rules;
}

/** Rules by id (the first definition wins; duplicates are rule-ids.ts's business). */
export function rulesById(rules: readonly SpecRule[]): ReadonlyMap<string, SpecRule> {
  const map = new Map<string, SpecRule>();
  for (const r of rules) if (!map.has(r.id)) map.set(r.id, r);
  return map;
}
