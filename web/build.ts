// `npm run site`: the whole static site. Everything is written into a fresh
// folder beside the target and renamed into place at the end, so a failure
// never leaves a half-written site (the previous one stays as it was).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { collectRuleIds, type IdOccurrence } from '../properties/spec/rule-ids';
import { SiteError } from './errors';
import { buildGuests } from './guests';
import { escapeHtml, page, sourcePageHref } from './html';
import { sourceIndex, sourcePage } from './source-pages';
import { checkChapters, renderChapter, type Chapter, type RuleUses } from './spec-pages';
import { parseSpecRules, rulesById } from '../properties/spec/rule-text';

const WEB_DIR = dirname(fileURLToPath(import.meta.url));

export interface SiteOptions {
  /** The project whose spec/, sources and guests make the site. */
  readonly root: string;
  /** The folder to (re)place. */
  readonly out: string;
}

export interface SiteSummary {
  readonly chapters: number;
  readonly rules: number;
  readonly sourcePages: number;
  readonly guests: number;
}

function readChapters(root: string): Chapter[] {
  const dir = join(root, 'spec');
  if (!existsSync(dir)) throw new SiteError(`${dir}: no spec folder`);
  return readdirSync(dir).filter((f) => f.endsWith('.md')).sort()
    .map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') }));
}

function usesByRule(code: readonly IdOccurrence[], tests: readonly IdOccurrence[]): Map<string, RuleUses> {
  const uses = new Map<string, { code: IdOccurrence[]; tests: IdOccurrence[] }>();
  const at = (id: string) => uses.get(id) ?? (uses.set(id, { code: [], tests: [] }), uses.get(id)!);
  for (const o of code) at(o.id).code.push(o);
  for (const o of tests) at(o.id).tests.push(o);
  return uses;
}

function write(dir: string, path: string, text: string): void {
  const full = join(dir, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, text);
}

/** The chapter list on the first page, in file order beside the reading order the README gives. */
function chapterNav(chapters: readonly { page: string; title: string }[]): string {
  return `<ul class="chapters">${chapters.filter((c) => c.page !== 'index.html').map((c) => `<li><a href="${c.page}">${escapeHtml(c.title)}</a></li>`).join('')}</ul>`;
}

const INTRO = `<div class="intro">
<p><strong><a href="explorer.html">The explorer</a></strong> runs the model of this specification in your
browser: pick a guest, step it forward and back, and see every register, descriptor cache and table
change, with the rule that decided each fault linked to its paragraph here. Nothing is sent anywhere.</p>
</div>`;

export async function buildSite(options: SiteOptions): Promise<SiteSummary> {
  const root = resolve(options.root);
  const out = resolve(options.out);
  // Input first: a bad spec fails before anything is written.
  const chapters = readChapters(root);
  const home = checkChapters(chapters);
  const index = collectRuleIds(root);
  const uses = usesByRule(index.code, index.tests);

  mkdirSync(dirname(out), { recursive: true });
  const tmp = mkdtempSync(join(dirname(out), `.${basename(out)}-building-`));
  let sourcePages = 0;
  let guestCount = 0;
  try {
    const rendered = chapters.map((c) => renderChapter(c, home, uses));
    const nav = chapterNav(rendered);
    for (const r of rendered) {
      const body = r.page === 'index.html' ? `${INTRO}\n${r.body}\n<h2>All chapters</h2>\n${nav}` : r.body;
      write(tmp, r.page, page({ title: r.title, body }));
    }

    const marked = new Map<string, Set<number>>();
    for (const o of [...index.code, ...index.tests]) marked.set(o.file, (marked.get(o.file) ?? new Set()).add(o.line));
    // Sources the chapters link to (their "Model:" lines) get pages too.
    for (const c of chapters) {
      for (const m of c.text.matchAll(/\]\(\.\.\/([^)#]+[^/)])\)/g)) if (!marked.has(m[1]!) && existsSync(join(root, m[1]!))) marked.set(m[1]!, new Set());
    }
    const ruleHome = (id: string): string | undefined => home.get(id)?.page;
    for (const [file, lines] of marked) write(tmp, sourcePageHref(file), sourcePage(file, readFileSync(join(root, file), 'utf8'), lines, ruleHome));
    write(tmp, 'src/index.html', sourceIndex([...marked.keys()]));
    sourcePages = marked.size;

    const guests = buildGuests(root);
    // The spec's own words for each rule (properties/spec/rule-text.ts), for the explorer's explanations.
    const words = rulesById(chapters.flatMap((c) => parseSpecRules(`spec/${c.file}`, c.text)));
    const plain = (t: string): string => t.replace(/[*`]/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const rules = Object.fromEntries([...home].map(([id, h]) => [id, { page: h.page, sentence: plain(words.get(id)?.sentence ?? ''), text: plain(words.get(id)?.text ?? '') }]));
    await bundleExplorer(root, tmp, { guests, rules });
    guestCount = guests.length;
    write(tmp, 'explorer.html', page({ title: 'explorer', body: readFileSync(join(WEB_DIR, 'explorer/explorer.html'), 'utf8'), scripts: ['explorer.js'], bodyClass: 'explorer' }));
    write(tmp, 'style.css', readFileSync(join(WEB_DIR, 'style.css'), 'utf8'));

    const old = `${tmp}-old`;
    if (existsSync(out)) renameSync(out, old);
    renameSync(tmp, out);
    rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { chapters: chapters.length, rules: home.size, sourcePages, guests: guestCount };
}

/** The explorer's script: the model and the page code in one file, with the
 * guests and the rule texts built in (no fetch, so it also works from file://). */
async function bundleExplorer(root: string, dir: string, data: { guests: unknown; rules: unknown }): Promise<void> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(WEB_DIR, 'explorer/main.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: false,
    write: false,
    logLevel: 'silent',
    plugins: [{
      name: 'site-data',
      setup(b) {
        b.onResolve({ filter: /^site-data$/ }, () => ({ path: 'site-data', namespace: 'site-data' }));
        b.onLoad({ filter: /.*/, namespace: 'site-data' }, () => ({ contents: JSON.stringify(data), loader: 'json' }));
      },
    }],
  }).catch((e: { errors?: { text: string; location?: { file: string; line: number } | null }[] }) => {
    const first = e.errors?.[0];
    throw new SiteError(`the explorer does not bundle: ${first?.location ? `${first.location.file}:${first.location.line}: ` : ''}${first?.text ?? String(e)}`);
  });
  write(dir, 'explorer.js', result.outputFiles[0]!.text);
}
