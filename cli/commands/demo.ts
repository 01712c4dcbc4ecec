// `mesovirt demo` (what `npm start` runs): the whole story in one screen,
// with no outside tool. Assemble the hello guest with our own assembler,
// show its code disassembled, boot it on both machines; then boot the
// teaching kernel natively and, in its meso build, under the monitor, and
// show that the guest cannot tell the difference.
import { assembleFileWithSymbols } from '../../properties/assemble-file';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { listing } from '../../model/isa/listing';
import { bootGuest } from '../../model/vmm/boot';
import { runWorld } from '../../model/vmm/run';
import { bootImage, createMachine, MACHINE_KINDS, runToEnd } from '../../properties/machines';
import { patchSize } from '../../properties/patch-size';
import { bootLinux } from '../../properties/linux';

const MEMORY = 64 * 1024 * 1024;
const MAX_STEPS = 50_000_000;


const say = (text = ''): void => void process.stdout.write(`${text}\n`);
const indent = (text: string): string => text.trimEnd().split('\n').map((l) => `    ${l}`).join('\n');

function helloSection(root: string): void {
  const source = join(root, 'guests/hello/hello.asm');
  say('1. guests/hello/hello.asm, assembled by model/isa/asm into a flat Multiboot image:');
  const { bytes: flat, symbols } = assembleFileWithSymbols(source, { format: 'bin', defines: { MULTIBOOT_AOUT_KLUDGE: '1' } });
  const origin = 0x100000;
  const start = (symbols.get('_start') ?? origin) - origin;
  const end = (symbols.get('message') ?? origin + flat.length) - origin;
  const code = listing(flat.subarray(start, end), origin + start);
  for (const line of code.slice(0, 16)) {
    const bytes = Buffer.from(line.bytes).toString('hex').padEnd(16);
    say(`    ${line.address.toString(16).padStart(8, '0')}  ${bytes}  ${line.text}`);
  }
  if (code.length > 16) say(`    ... (${code.length - 16} more; see \`npx mesovirt disasm\`)`);
  say();
  say('2. The same image booted on both machines (Multiboot loader, port 0xE9 console, port 0xF4 exit):');
  for (const kind of MACHINE_KINDS) {
    const machine = createMachine(kind, MEMORY);
    bootImage(machine, flat, 'hello');
    const run = runToEnd(machine, MAX_STEPS);
    const end = run.end?.kind === 'exit' ? `exit code ${run.end.code}` : (run.end?.kind ?? 'step limit');
    say(`    ${kind.padEnd(5)}: ${JSON.stringify(run.console)}, ${run.steps} steps, ${end}`);
  }
}

function teachSection(root: string): void {
  const source = join(root, 'guests/teach/teach.asm');
  const native = assembleFileWithSymbols(source, { format: 'bin' }).bytes;
  const meso = assembleFileWithSymbols(source, { format: 'bin', defines: { MESO: '1' } }).bytes;
  const patch = patchSize(teachSources(dirname(source)));
  say();
  say(`3. guests/teach, a kernel with paging, a timer-driven scheduler and system calls.`);
  say(`   Native build on the bare machine (impl), kernel in ring 0:`);
  const machine = createMachine('impl', MEMORY);
  bootImage(machine, native, 'teach');
  const bare = runToEnd(machine, MAX_STEPS);
  say(indent(bare.console));
  say();
  say(`4. The meso build (${patch.blocks} %ifdef MESO blocks, ${patch.lines} lines changed) under the monitor,`);
  say('   kernel in ring 1, monitor at 0xFC000000 guarded by segment limits:');
  const boot = bootGuest(meso);
  if (boot.kind === 'error') throw new Error(`teach (meso): ${boot.message}`);
  const virtual = runWorld(boot.world, MAX_STEPS);
  const same = virtual.console === bare.console;
  say(`    console transcript ${same ? 'identical to the native run' : 'DIFFERS from the native run'} (${virtual.console.length} bytes); run ended: ${virtual.end}`);
  const exits = Object.entries(virtual.world.vmm.exits).sort((a, b) => b[1] - a[1]);
  say(`    monitor exits by reason: ${exits.map(([why, n]) => `${why} ${n}`).join(', ')}`);
  if (!same) process.exitCode = 1;
}

function linuxSection(): void {
  say();
  say('5. guests/linux: Debian\'s Linux 6.1 for the i486 (tinyconfig + guests/linux/mesovirt.config),');
  say('   booted on impl by the Linux boot protocol, console on the 16550A UART:');
  const boot = bootLinux('impl');
  const lines = boot.console.split(/\r?\n/).filter((l) => l !== '');
  const verdict = lines.filter((l) => /^init: \d+ passed, \d+ failed$/.test(l));
  for (const l of [lines[0] ?? '(no output)', '...', ...verdict, lines[lines.length - 1] ?? '']) say(`    ${l}`);
  const end = boot.exitCode !== null ? `exit code ${boot.exitCode}` : (boot.end?.kind ?? 'instruction limit');
  say(`    ${lines.length} console lines, ${boot.instructions.toLocaleString('en')} instructions, ${boot.seconds.toFixed(1)} s, ${end}`);
  if (boot.exitCode !== 1) process.exitCode = 1;
}

/** The teaching kernel's own sources (teach.asm and its top-level .inc files). */
function teachSources(dir: string): string {
  return readdirSync(dir).filter((f) => /\.(asm|inc)$/.test(f)).sort()
    .map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('assemble and boot the guests on both machines and under the monitor (what `npm start` runs)')
    .action(() => {
      const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
      say('mesovirt: an executable specification of mesovirtualization on IA-32');
      say();
      helloSection(root);
      teachSection(root);
      linuxSection();
      say();
      say('Next: `npm test` checks all of this against nasm, objdump, the host CPU and QEMU; see README.md.');
    });
}
