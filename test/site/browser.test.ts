// The site in a real browser: Debian's chromium, headless, driven by
// playwright-core (which never downloads a browser of its own), reads the
// site from a local static server. Every chapter renders without a console
// error and carries an anchor for each rule it defines; the explorer runs
// hello to its console line, steps back to the earlier registers, and shows
// the fault of a conformance kernel.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { collectRuleIds } from '../../properties/spec/rule-ids';
import { oracleAvailable } from '../../properties/tools';
import { buildSite } from '../../web/build';
import { serveStatic, type Served } from '../../web/serve';
import { boot, Timeline } from '../../web/explorer/session';
import { buildGuests } from '../../web/guests';
import { REGISTER_NAMES } from '../../model/cpu/state';

const root = process.cwd();
// As every outside oracle (properties/tools.ts): without Debian's chromium
// the browser test is skipped with a printed reason, except in CI, where it
// fails (`apt-get install chromium`; .ci/run installs it).
const HAS_CHROMIUM = oracleAvailable('chromium');

// Expressions evaluated in the page (strings: this file is type-checked without the DOM library).
/** The id of the element the URL's fragment names. */
const TARGET_ID = "document.querySelector(':target')?.id";
/** True once the explorer's URL names step n. */
const atStep = (n: number): string => `new URL(location.href).searchParams.get('step') === '${n}'`;

/** Each code/test link under a rule on the chapter pages in `dir`, checked:
 * its target line must carry the rule's id in square brackets. */
function ruleLinkProblems(dir: string): { links: number; problems: string[] } {
  let links = 0;
  const problems: string[] = [];
  const pages = new Map<string, string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.html') && f !== 'explorer.html')) {
    const html = readFileSync(join(dir, file), 'utf8');
    for (const block of html.matchAll(/<div class="rule-uses" data-rule="([^"]+)">(.*?)<\/div>/g)) {
      for (const link of block[2]!.matchAll(/href="([^"#]+)#L(\d+)"/g)) {
        const target = link[1]!;
        if (!pages.has(target)) pages.set(target, readFileSync(join(dir, target), 'utf8'));
        const line = (new RegExp(`<span id="L${link[2]}"[^>]*>(.*)</span>`).exec(pages.get(target)!)?.[1] ?? '').replace(/<[^>]+>/g, '');
        if (!line.includes(`[${block[1]}]`)) problems.push(`${file}: ${block[1]} -> ${target}#L${link[2]}: ${line}`);
        links++;
      }
    }
  }
  return { links, problems };
}

describe.runIf(HAS_CHROMIUM)('the site in headless chromium', () => {
  let out = '';
  let served: Served;
  let browser: Browser;
  let problems: string[] = [];

  beforeAll(async () => {
    out = join(mkdtempSync(join(tmpdir(), 'mesovirt-site-test-')), 'site');
    await buildSite({ root, out });
    served = await serveStatic(out);
    const executablePath = execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  });

  beforeEach(() => { problems = []; });

  afterAll(async () => {
    await browser?.close();
    await served?.close();
    if (out !== '') rmSync(join(out, '..'), { recursive: true, force: true });
  });

  /** A page that records console errors and uncaught exceptions into `problems`. */
  async function open(path: string): Promise<Page> {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`${page.url()}: console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`${page.url()}: request failed: ${r.url()}`));
    // Nothing may be fetched from anywhere but the site itself.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(served.url) || url.startsWith('data:')) return route.continue();
      problems.push(`${page.url()}: fetched from outside the site: ${url}`);
      return route.abort();
    });
    await page.goto(served.url + path);
    return page;
  }

  it('every chapter renders with its title, no console error, and an anchor for each rule it defines', async () => {
    const spec = collectRuleIds(root).spec;
    const chapters = readdirSync(join(root, 'spec')).filter((f) => f.endsWith('.md'));
    expect(chapters.length).toBeGreaterThan(10);
    const page = await open('index.html');
    for (const file of chapters) {
      const path = file === 'README.md' ? 'index.html' : file.replace(/\.md$/, '.html');
      const heading = /^#\s+(.+)$/m.exec(readFileSync(join(root, 'spec', file), 'utf8'))![1]!.trim();
      await page.goto(served.url + path);
      expect(await page.title(), path).toBe(`${heading} — mesovirt`);
      expect((await page.locator('h1').first().textContent())?.trim(), path).toBe(heading);
      const anchors = await page.$$eval('a.rule-id', (els) => els.map((e) => e.id));
      const defined = spec.filter((o) => o.file === `spec/${file}`).map((o) => o.id);
      expect([...anchors].sort(), path).toEqual([...defined].sort());
      // The browser resolves the anchor: following #ID scrolls to it.
      if (defined.length > 0) {
        await page.goto(`${served.url}${path}#${defined[defined.length - 1]}`);
        expect(await page.evaluate(TARGET_ID)).toBe(defined[defined.length - 1]);
      }
    }
    await page.close();
    expect(problems).toEqual([]);
  });

  it('every code and test link of a rule lands on a source line that names the rule', () => {
    const { links, problems: wrong } = ruleLinkProblems(out);
    expect(wrong).toEqual([]);
    // One link per occurrence of a defined id (an undefined one is test/spec-ids.test.ts's to report).
    const index = collectRuleIds(root);
    const defined = new Set(index.spec.map((o) => o.id));
    expect(links).toBe([...index.code, ...index.tests].filter((o) => defined.has(o.id)).length);
  });

  it('no link between the site\'s pages is dead: chapters, sources, line and rule anchors', () => {
    const dead: string[] = [];
    const cache = new Map<string, { text: string; ids: Set<string> }>();
    const load = (file: string) => {
      if (!cache.has(file)) {
        const text = readFileSync(join(out, file), 'utf8');
        cache.set(file, { text, ids: new Set([...text.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]!)) });
      }
      return cache.get(file)!;
    };
    const pages = (readdirSync(out, { recursive: true }) as string[]).filter((f) => f.endsWith('.html'));
    expect(pages.length).toBeGreaterThan(100);
    let checked = 0;
    for (const file of pages) {
      for (const m of load(file).text.matchAll(/href="([^"]+)"/g)) {
        const href = m[1]!.replace(/&amp;/g, '&');
        if (/^(https?:|mailto:|data:)/.test(href)) continue;
        const [path, fragment] = href.split('#') as [string, string | undefined];
        const target = path === '' ? file : normalize(join(dirname(file), path.split('?')[0]!));
        checked++;
        if (target.startsWith('..') || !existsSync(join(out, target))) dead.push(`${file}: ${href}`);
        else if (fragment !== undefined && fragment !== '' && target.endsWith('.html') && !load(target).ids.has(fragment)) dead.push(`${file}: ${href}`);
      }
    }
    expect(dead.slice(0, 20)).toEqual([]);
    expect(checked).toBeGreaterThan(1000);
  });

  it('the two checks above catch a missing anchor and a link to the wrong line', async () => {
    const chapter = readFileSync(join(out, 'segmentation.html'), 'utf8');
    const id = 'SEG.LOAD.4';
    expect(chapter).toContain(`id="${id}"`);
    // A page with one anchor fewer: the browser finds a different list of anchors.
    writeFileSync(join(out, 'mutant.html'), chapter.replace(`id="${id}"`, ''));
    const page = await open('mutant.html');
    const anchors = await page.$$eval('a.rule-id', (els) => els.map((e) => e.id));
    await page.close();
    const defined = collectRuleIds(root).spec.filter((o) => o.file === 'spec/segmentation.md').map((o) => o.id);
    expect([...anchors].sort()).not.toEqual([...defined].sort());
    expect(defined.filter((d) => !anchors.includes(d))).toEqual([id]);
    rmSync(join(out, 'mutant.html'));
    // A site whose first code link of the rule points one line off.
    const copy = join(mkdtempSync(join(tmpdir(), 'mesovirt-site-mutant-')), 'site');
    cpSync(join(out, 'src'), join(copy, 'src'), { recursive: true });
    const uses = new RegExp(`(<div class="rule-uses" data-rule="${id.replace(/\./g, '\\.')}">.*?#L)(\\d+)`);
    writeFileSync(join(copy, 'segmentation.html'), chapter.replace(uses, (_m, head: string, line: string) => `${head}${Number(line) + 1}`));
    expect(ruleLinkProblems(copy).problems).toHaveLength(1);
    rmSync(join(copy, '..'), { recursive: true, force: true });
  });

  const guests = buildGuests(root);
  const bundled = (name: string) => {
    const b = boot(Buffer.from(guests.find((g) => g.name === name)!.image, 'base64'), false);
    if (b.kind !== 'ok') throw new Error(b.message);
    return new Timeline(b.snapshot);
  };
  const registersOn = (page: Page) => page.$$eval('[data-section="registers"] tr[data-key]', (rows) =>
    Object.fromEntries(rows.map((r) => [r.getAttribute('data-key'), r.querySelectorAll('td')[1]?.textContent ?? ''])));
  const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

  it('the explorer runs hello to its console line', async () => {
    const message = /message:\s+db\s+"([^"]+)"/.exec(readFileSync(join(root, 'guests/hello/hello.asm'), 'utf8'))![1]!;
    const page = await open('explorer.html?guest=hello');
    await page.waitForSelector('body[data-ready="true"]');
    await page.click('#to-end');
    await page.waitForFunction(`document.getElementById('console')?.textContent === ${JSON.stringify(`${message}\n`)}`, undefined, { timeout: 20_000 });
    expect(await page.textContent('#event')).toContain('exit port');
    await page.close();
    expect(problems).toEqual([]);
  });

  it('the explorer steps back to the registers of the earlier step, as the model has them there', async () => {
    const model = bundled('hello');
    const page = await open('explorer.html?guest=hello&step=10');
    await page.waitForSelector('body[data-ready="true"]');
    const at10 = await registersOn(page);
    const m10 = model.at(10).snapshot.machine;
    expect(at10).toMatchObject({ ...Object.fromEntries(REGISTER_NAMES.map((r, i) => [r, hex(m10.regs[i]!)])), eip: hex(m10.eip) });
    await page.click('#step');
    await page.waitForFunction(atStep(11));
    const at11 = await registersOn(page);
    expect(at11.eip).toBe(hex(model.at(11).snapshot.machine.eip));
    expect(at11.eip).not.toBe(at10.eip);
    await page.click('#back');
    await page.waitForFunction(atStep(10));
    expect(await registersOn(page)).toEqual(at10);
    await page.close();
    expect(problems).toEqual([]);
  });

  it('the explorer runs a conformance kernel to its first fault and names the rule that raised it, linked to its anchor', async () => {
    const model = bundled('segload');
    const first = model.runUntil(0, (t) => t.event?.kind === 'exception', 1_000_000);
    const event = model.at(first).transition!.event!;
    if (event.kind !== 'exception') throw new Error('segload raised no exception');
    expect(event.rule, 'the model names the rule of the fault').toMatch(/^[A-Z]/);
    const home = collectRuleIds(root).spec.find((o) => o.id === event.rule)!;
    const page = await open('explorer.html?guest=segload');
    await page.waitForSelector('body[data-ready="true"]');
    await page.click('#to-fault');
    await page.waitForFunction(atStep(first), undefined, { timeout: 20_000 });
    const names: Record<number, string> = { 0: '#DE', 6: '#UD', 10: '#TS', 11: '#NP', 12: '#SS', 13: '#GP', 14: '#PF' };
    expect(await page.textContent('#event')).toContain(`exception ${names[event.vector]}(0x${event.errorCode!.toString(16)})`);
    const link = page.locator('#raised-by a.rule');
    expect(await link.textContent()).toBe(event.rule);
    expect(await link.getAttribute('href')).toBe(`${home.file.replace(/^spec\//, '').replace(/\.md$/, '.html')}#${event.rule}`);
    await link.click();
    await page.waitForURL(/#/);
    expect(await page.evaluate(TARGET_ID)).toBe(event.rule);
    await page.close();
    expect(problems).toEqual([]);
  });

  it('under the monitor, an exit shows the VMM rules that handled it', async () => {
    const b = boot(Buffer.from(guests.find((g) => g.name === 'teach-meso')!.image, 'base64'), true);
    if (b.kind !== 'ok') throw new Error(b.message);
    const model = new Timeline(b.snapshot);
    const exit = model.runUntil(0, (t) => t.world?.kind === 'exit', 100_000);
    const world = model.at(exit).transition!.world!;
    if (world.kind !== 'exit') throw new Error('teach-meso took no exit');
    expect(world.handledBy.length).toBeGreaterThan(0);
    const page = await open(`explorer.html?guest=teach-meso&step=${exit}`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.$$eval('#handled-by a.rule', (els) => els.map((e) => e.textContent))).toEqual(world.handledBy.map((u) => u.id));
    expect(await page.textContent('#event')).toMatch(/^exit into the monitor/);
    await page.close();
    expect(problems).toEqual([]);
  });
});
