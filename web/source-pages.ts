// Source files as pages with an anchor on every line (#L12), so a rule's
// code and test lines can be linked from the spec pages and the links work
// from the static site without the repository at hand.
import { escapeHtml, page, sourcePageHref } from './html';

/** How many folders down a source page lies: src/model/cpu/x.ts.html is three. */
const depthOf = (file: string): string => '../'.repeat(file.split('/').length);

/** A rule id in square brackets, as code and tests carry it. */
const CARRIED_ID = /\[([A-Z][A-Z0-9]*(?:\.[A-Z0-9]+)+)\]/g;

/** A source file as a page; each `[ID]` of a rule the spec defines links to
 * the rule's paragraph (`ruleHome` gives its chapter page). */
export function sourcePage(file: string, text: string, marked: ReadonlySet<number>, ruleHome: (id: string) => string | undefined = () => undefined): string {
  const lines = text.replace(/\n$/, '').split('\n');
  const width = String(lines.length).length;
  const depth = depthOf(file);
  const linked = (line: string): string => escapeHtml(line).replace(CARRIED_ID, (whole, id: string) => {
    const home = ruleHome(id);
    return home === undefined ? whole : `[<a class="rule-ref" href="${depth}${home}#${id}">${id}</a>]`;
  });
  const body = lines.map((line, i) => {
    const n = i + 1;
    const cls = marked.has(n) ? ' class="marked"' : '';
    return `<span id="L${n}"${cls}><a class="ln" href="#L${n}">${String(n).padStart(width)}</a> ${linked(line)}</span>`;
  }).join('\n');
  return page({ title: file, depth, body: `<h1 class="source-title">${escapeHtml(file)}</h1>\n<pre class="source">${body}</pre>` });
}

/** The list of every source page, grouped by folder. */
export function sourceIndex(files: readonly string[]): string {
  const byFolder = new Map<string, string[]>();
  for (const f of [...files].sort()) {
    const folder = f.includes('/') ? f.slice(0, f.lastIndexOf('/')) : '.';
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), f]);
  }
  const sections = [...byFolder].map(([folder, list]) =>
    `<h2 id="${escapeHtml(folder)}/">${escapeHtml(folder)}/</h2>\n<ul>${list.map((f) => `<li><a href="../${sourcePageHref(f)}">${escapeHtml(f.slice(folder.length + 1))}</a></li>`).join('')}</ul>`);
  return page({ title: 'sources', depth: '../', body: `<h1>Sources that carry or name a rule id</h1>\n${sections.join('\n')}` });
}
