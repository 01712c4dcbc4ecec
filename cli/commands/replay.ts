// `mesovirt replay FILE`: run a differential failure's replay file again on
// the same pair of machines; exit 1 if they still disagree, 0 if they agree.
import type { Command } from 'commander';
import { loadReplay, rerunReplay } from '../../properties/replay/run';

export function register(program: Command): void {
  program
    .command('replay')
    .description('run a replay file (written by a failing DIFF property or check campaign) again on both machines')
    .argument('<file>', 'the replay file (.replays/*.json)')
    .action((file: string) => {
      const replay = loadReplay(file);
      const run = rerunReplay(replay, file);
      process.stdout.write(`${run.report}\n`);
      process.exitCode = run.differs ? 1 : 0;
    });
}
