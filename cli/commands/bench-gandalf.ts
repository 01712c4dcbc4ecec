// `mesovirt bench-gandalf [IMAGE...]`: run guests under gandalf on impl and
// print what its exits cost, measured (properties/gandalf/costs.ts), beside
// the per-exit figures bench/guests-cost.ts guesses for model/vmm.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { measureGandalf } from '../../properties/gandalf/costs';
import { rtos, teachMeso } from '../../properties/gandalf/guests';
import { monitorWork } from '../../bench/guests-cost';

export function register(program: Command): void {
  program
    .command('bench-gandalf')
    .description('run guests under gandalf (the monitor as IA-32 code) on impl and print the instructions its exits cost, by reason, beside the guessed cost model')
    .argument('[images...]', 'meso guest images (default: the teaching kernel and the RTOS, meso builds)')
    .action((images: string[]) => {
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
