// `npx tsx web/screenshot.ts [SITE] [OUT.png]`: the README's picture of the
// explorer (segload at its first fault), taken by Debian's chromium from a
// site built with `npm run site`.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { serveStatic } from './serve';

const site = resolve(process.argv[2] ?? 'site');
const out = resolve(process.argv[3] ?? 'docs/explorer.png');
const served = await serveStatic(site);
const executablePath = execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 880 } });
  await page.goto(`${served.url}explorer.html?guest=segload`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.click('#to-fault');
  await page.waitForSelector('#raised-by');
  await page.screenshot({ path: out });
  process.stdout.write(`${out}\n`);
} finally {
  await browser.close();
  await served.close();
}
