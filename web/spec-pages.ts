// The spec chapters as HTML pages. markdown-it parses the chapter; three
// small token rewrites make it a page of the site:
//   - a rule definition (**AREA.TOPIC.N**) becomes an anchor with that id,
//     followed by the code lines that carry the id and the tests that name it;
//   - a mention of a rule id elsewhere in prose links to its definition;
//   - links to other chapters (x.md) and to sources (../model/...) point at
//     the pages the site generates for them.
import MarkdownIt, { type StateCore, type Token } from 'markdown-it';
import type { IdOccurrence } from '../properties/spec/rule-ids';
import { SiteError } from './errors';
import { escapeHtml, sourcePageHref } from './html';

/** The rule id grammar of properties/spec/rule-ids.ts: capitals, digits and
 * dots, so an id is already safe as an HTML id and as a URL fragment. */
const ID = /^[A-Z][A-Z0-9]*(?:\.[A-Z0-9]+)+$/;
const ID_IN_TEXT = /\b[A-Z][A-Z0-9]*(?:\.[A-Z0-9]+)+\b/g;
/** A bold span as the spec writes rule ids: no space inside. */
const BOLD = /\*\*([^*\s]+)\*\*/g;

/** Is this bold word meant to be a rule id? An identifier-like word that
 * starts with a capital and has a dot, an underscore or a digit in it. The
 * spec's other bold words are lower-case prose (**patch**, **reconstructed**). */
function looksLikeRuleId(word: string): boolean {
  return /^[A-Z][A-Za-z0-9._-]*$/.test(word) && /[._0-9]/.test(word);
}

export interface Chapter {
  /** File name under spec/, e.g. segmentation.md. */
  readonly file: string;
  readonly text: string;
}

/** Where each rule is defined: its chapter page. */
export type RuleHome = ReadonlyMap<string, { readonly page: string; readonly file: string; readonly line: number }>;

export const chapterPage = (file: string): string => (file === 'README.md' ? 'index.html' : file.replace(/\.md$/, '.html'));

/**
 * Refuses a spec that the site cannot anchor: a malformed rule id
 * (a bold identifier-like word that is not AREA.TOPIC.N) or an id defined
 * twice. The error names the file and line (exit code 2 from `npm run site`).
 */
export function checkChapters(chapters: readonly Chapter[]): RuleHome {
  const home = new Map<string, { page: string; file: string; line: number }>();
  const problems: string[] = [];
  for (const chapter of chapters) {
    const where = `spec/${chapter.file}`;
    chapter.text.split('\n').forEach((text, index) => {
      const line = index + 1;
      for (const m of text.matchAll(BOLD)) {
        const word = m[1]!;
        if (ID.test(word)) {
          const first = home.get(word);
          if (first !== undefined) problems.push(`${where}:${line}: rule id ${word} is defined twice (first at spec/${first.file}:${first.line})`);
          else home.set(word, { page: chapterPage(chapter.file), file: chapter.file, line });
        } else if (looksLikeRuleId(word)) {
          problems.push(`${where}:${line}: malformed rule id **${word}** (a rule id is AREA.TOPIC.N in capitals and digits, e.g. SEG.LOAD.4)`);
        }
      }
    });
  }
  if (problems.length > 0) throw new SiteError(problems.join('\n'));
  return home;
}

export interface RuleUses {
  readonly code: readonly IdOccurrence[];
  readonly tests: readonly IdOccurrence[];
}

/** The code lines and tests of one rule, grouped by file, each line linked to its source page. */
function usesHtml(id: string, uses: RuleUses | undefined, depth: string): string {
  const group = (label: string, list: readonly IdOccurrence[]): string => {
    if (list.length === 0) return `<span class="uses-none">no ${label}</span>`;
    const byFile = new Map<string, number[]>();
    for (const o of list) byFile.set(o.file, [...(byFile.get(o.file) ?? []), o.line]);
    const files = [...byFile].map(([file, lines]) => {
      const links = lines.map((l) => `<a href="${depth}${sourcePageHref(file)}#L${l}">${l}</a>`).join(', ');
      return `<span class="use"><span class="use-file">${escapeHtml(file)}</span>:${links}</span>`;
    });
    return `<span class="uses-label">${label}</span> ${files.join(' ')}`;
  };
  return `<div class="rule-uses" data-rule="${id}">${group('code', uses?.code ?? [])}<br>${group('tests', uses?.tests ?? [])}</div>`;
}

const md = new MarkdownIt({ html: false, linkify: false, typographer: false });

interface RenderEnv {
  readonly page: string;
  readonly home: RuleHome;
  readonly uses: ReadonlyMap<string, RuleUses>;
  /** The rules this chapter defines, in order. */
  readonly defined: string[];
}

function htmlToken(state: StateCore, type: 'html_inline' | 'html_block', content: string): Token {
  const t = new state.Token(type, '', 0);
  t.content = content;
  return t;
}

const ruleLink = (env: RenderEnv, id: string, text: string): string => {
  const home = env.home.get(id)!;
  const href = home.page === env.page ? `#${id}` : `${home.page}#${id}`;
  return `<a class="rule-ref" href="${href}">${escapeHtml(text)}</a>`;
};

/** Text with every known rule id linked to its definition. */
function linkIds(env: RenderEnv, text: string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(ID_IN_TEXT)) {
    if (!env.home.has(m[0])) continue;
    out += escapeHtml(text.slice(last, m.index)) + ruleLink(env, m[0], m[0]);
    last = m.index! + m[0].length;
  }
  return last === 0 ? '' : out + escapeHtml(text.slice(last));
}

md.core.ruler.push('mesovirt_rules', (state) => {
  const env = state.env as unknown as RenderEnv;
  const tokens = state.tokens;
  for (let i = 0; i < tokens.length; i++) {
    const block = tokens[i]!;
    if (block.type !== 'inline' || block.children === null) continue;
    const children = block.children;
    const definedHere: string[] = [];
    let inLink = 0;
    for (let c = 0; c < children.length; c++) {
      const t = children[c]!;
      if (t.type === 'link_open') inLink++;
      else if (t.type === 'link_close') inLink--;
      else if (t.type === 'strong_open' && children[c + 1]?.type === 'text' && children[c + 2]?.type === 'strong_close' && ID.test(children[c + 1]!.content)) {
        // A definition: the anchor carries the id itself.
        const id = children[c + 1]!.content;
        children.splice(c, 3, htmlToken(state, 'html_inline', `<a class="rule-id" id="${id}" href="#${id}">${id}</a>`));
        definedHere.push(id);
        env.defined.push(id);
      } else if (t.type === 'text' && inLink === 0) {
        const linked = linkIds(env, t.content);
        if (linked !== '') children.splice(c, 1, htmlToken(state, 'html_inline', linked));
      } else if (t.type === 'code_inline' && inLink === 0 && env.home.has(t.content)) {
        children.splice(c, 1, htmlToken(state, 'html_inline', ruleLink(env, t.content, t.content).replace(/>([^<]*)</, '><code>$1</code><')));
      }
    }
    if (definedHere.length === 0) continue;
    const uses = definedHere.map((id) => usesHtml(id, env.uses.get(id), '')).join('');
    const opener = tokens[i - 1];
    if (opener?.type === 'paragraph_open') {
      // After the paragraph's close: a block of its own under the rule.
      tokens.splice(i + 2, 0, htmlToken(state, 'html_block', `${uses}\n`));
    } else {
      // In a table cell (or a heading): inline, at the end.
      children.push(htmlToken(state, 'html_inline', uses));
    }
  }
});

/** Links between chapters stay within the site; links to sources go to their pages. */
md.core.ruler.push('mesovirt_links', (state) => {
  for (const block of state.tokens) {
    for (const t of block.children ?? []) {
      if (t.type !== 'link_open') continue;
      const href = String(t.attrGet('href') ?? '');
      const chapter = /^([A-Za-z-]+\.md)(#.*)?$/.exec(href);
      if (chapter !== null) {
        t.attrSet('href', chapterPage(chapter[1]!) + (chapter[2] ?? ''));
      } else if (href.startsWith('../') && !href.endsWith('/')) {
        t.attrSet('href', sourcePageHref(href.slice(3)));
      } else if (href.startsWith('../')) {
        t.attrSet('href', 'src/index.html');
      }
    }
  }
});

export interface RenderedChapter {
  readonly page: string;
  readonly title: string;
  readonly body: string;
  readonly defined: readonly string[];
}

/** One chapter as the body of its page. */
export function renderChapter(chapter: Chapter, home: RuleHome, uses: ReadonlyMap<string, RuleUses>): RenderedChapter {
  const page = chapterPage(chapter.file);
  const env: RenderEnv = { page, home, uses, defined: [] };
  const body = md.render(chapter.text, env as unknown as Record<string, unknown>);
  const title = /^#\s+(.+)$/m.exec(chapter.text)?.[1]?.trim() ?? chapter.file;
  return { page, title, body, defined: env.defined };
}
