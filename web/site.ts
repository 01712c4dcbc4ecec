// `npm run site [-- --out DIR]`: build the static site (spec pages, source
// pages, the explorer) into site/ at the project root. A bad input prints
// what and where, and exits with code 2.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSite } from './build';
import { SiteError } from './errors';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) throw new SiteError(`${name} needs a value`);
  return value;
}

async function main(args: readonly string[]): Promise<void> {
  const unknown = args.filter((a, i) => a.startsWith('--') && !['--out', '--root'].includes(a) || (!a.startsWith('--') && !['--out', '--root'].includes(args[i - 1] ?? '')));
  if (unknown.length > 0) throw new SiteError(`unknown argument ${unknown[0]} (usage: npm run site [-- --out DIR] [--root PROJECT])`);
  const from = resolve(option(args, '--root') ?? root);
  const out = resolve(option(args, '--out') ?? join(from, 'site'));
  const started = Date.now();
  const s = await buildSite({ root: from, out });
  process.stdout.write(`site: ${s.chapters} chapters, ${s.rules} rules, ${s.sourcePages} source pages, ${s.guests} guests in the explorer -> ${out} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  process.stdout.write(`open ${join(out, 'index.html')} in a browser, or serve it with \`npm run site:serve\`\n`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof SiteError) {
    process.stderr.write(`site: ${e.message}\n`);
    process.exit(2);
  }
  throw e;
});
