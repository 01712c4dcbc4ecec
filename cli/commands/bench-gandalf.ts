// `mesovirt bench-gandalf [IMAGE...]`: run guests under gandalf on impl and
// print what its exits cost, measured (properties/gandalf/costs.ts), beside
// the per-exit figures bench/guests-cost.ts guesses for model/vmm.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { measureGandalf } from '../../properties/gandalf/costs';
import { rtos, teach, teachMeso } from '../../properties/gandalf/guests';
import { bootGandalf } from '../../properties/gandalf/build';
import { bootImage, createMachine, runToEnd } from '../../properties/machines';
import { monitorWork } from '../../bench/guests-cost';

export function register(program: Command): void {
  program
    .command('bench-gandalf')
    .description('run guests under gandalf (the monitor as IA-32 code) on impl and print the instructions its exits cost, by reason, beside the guessed cost model')
    .argument('[images...]', 'meso guest images (default: the teaching kernel and the RTOS, meso builds)')
    .option('--lmbench', 'instead: the six lmbench-style microbenchmarks of the teaching kernel, native on the bare machine and meso under gandalf')
    .action((images: string[], opts: { lmbench?: boolean }) => {
      if (opts.lmbench === true) return lmbenchTable();
      const guests = images.length > 0
        ? images.map((f) => { try { return [f, new Uint8Array(readFileSync(f))] as const; } catch (e) { throw new Error(`${f}: cannot read (${(e as Error).message})`); } })
        : [['teach (meso, PIT divisor 65535)', teachMeso()] as const, ['rtos (meso)', rtos({ MESO: '' })] as const];
      for (const [name, bytes] of guests) {
        const c = measureGandalf(bytes);
        const lines = [
          `${name}: ${c.end}, ${(c.wallMs / 1000).toFixed(2)} s on impl`,
          `  gandalf's boot        ${c.bootInstructions} instructions`,
          `  guest                 ${c.guestInstructions} instructions`,
          `  gandalf (exits)       ${c.monitorInstructions} instructions (${(100 * c.monitorInstructions / Math.max(1, c.monitorInstructions + c.guestInstructions)).toFixed(1)}% of the total), ${c.haltedSteps} steps halted`,
          '  by reason             exits   measured per exit   guessed (bench/guests-cost.ts)',
          ...Object.entries(c.byReason).sort((a, b) => b[1].instructions - a[1].instructions).map(([r, v]) =>
            `    ${r.padEnd(22)}${String(v.exits).padStart(6)}   ${(v.instructions / v.exits).toFixed(0).padStart(17)}   ${String(monitorWork(r)).padStart(8)}`),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
    });
}

const MICRO = ['null', 'fault', 'ctxsw', 'proc', 'mmap', 'cpu'] as const;

/** Native (ring 0, bare impl) against meso under gandalf: instructions, and whether the report line is the same. */
function lmbenchTable(): void {
  const rows = ['benchmark   native instr.   gandalf: guest   gandalf: exits   (guest+exits)/native   same report'];
  const report = (text: string): string => text.split('\n').find((l) => l.startsWith('[bench')) ?? '(none)';
  for (const [k, name] of MICRO.entries()) {
    const defines = { LMBENCH: String(k + 1), PIT_DIVISOR: '65535' };
    const native = createMachine('impl', 64 * 1024 * 1024);
    bootImage(native, teach(defines));
    const bare = runToEnd(native, 200_000_000);
    const nativeInstructions = native.state().instructionCount;
    const c = measureGandalf(teachMeso(defines));
    const under = runToEnd(bootGandalf([teachMeso(defines)]), 400_000_000).console;
    const total = c.guestInstructions + c.monitorInstructions;
    rows.push(`${name.padEnd(10)}${String(nativeInstructions).padStart(15)}${String(c.guestInstructions).padStart(17)}${String(c.monitorInstructions).padStart(17)}${(total / nativeInstructions).toFixed(2).padStart(23)}   ${report(bare.console) === report(under) ? 'yes' : `NO: ${report(under)}`}`);
  }
  process.stdout.write(`${rows.join('\n')}\n`);
}
