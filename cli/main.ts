// The `mesovirt` command: one verb per file in cli/commands/, each a thin
// shell over the machines and properties.
import { Command } from 'commander';
import { commands } from './commands/index';

const program = new Command();
program
  .name('mesovirt')
  .description('An executable specification of mesovirtualization on IA-32')
  .showHelpAfterError()
  .exitOverride();
for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // commander has already printed its own usage errors; anything else is a
  // user-facing error without a stack trace.
  const e = err as { code?: string; exitCode?: number; message?: string };
  if (e.code?.startsWith('commander.')) process.exit(e.exitCode ?? 2);
  process.stderr.write(`mesovirt: ${e.message ?? String(err)}\n`);
  process.exit(2);
}
