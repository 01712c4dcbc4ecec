// `npm run site:serve [-- --port N]`: serve the built site/ on the loopback
// address until interrupted, and print its address.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from './serve';

const site = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'site');
const args = process.argv.slice(2);
const portArg = args.indexOf('--port') >= 0 ? args[args.indexOf('--port') + 1] : '8000';
const port = Number(portArg);
if (!Number.isInteger(port) || port < 0 || port > 65535 || args.some((a, i) => a !== '--port' && args[i - 1] !== '--port')) {
  process.stderr.write(`site:serve: usage: npm run site:serve [-- --port N] (got ${args.join(' ')})\n`);
  process.exit(2);
}
if (!existsSync(join(site, 'index.html'))) {
  process.stderr.write(`site:serve: ${site} has no index.html: run \`npm run site\` first\n`);
  process.exit(2);
}
const served = await serveStatic(site, port).catch((e: Error) => {
  process.stderr.write(`site:serve: cannot listen on port ${port}: ${e.message}\n`);
  process.exit(2);
});
process.stdout.write(`serving ${site} at ${served.url} (explorer: ${served.url}explorer.html); Ctrl-C stops\n`);
