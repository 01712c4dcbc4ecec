// The outside oracles: QEMU (TCG, Multiboot -kernel, isa-debug-exit) and
// Bochs (no Multiboot loader: a floppy whose boot sector, assembled by nasm,
// loads the flat image and enters protected mode). Command lines as in
// ../shared/PEERS.md. Each returns what the kernel printed on port 0xE9.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFORMANCE_DIR } from './kernels';
import type { Transcript } from './machines';

export type Oracle = 'qemu' | 'bochs';
export const ORACLES: readonly Oracle[] = ['qemu', 'bochs'];
export const ORACLE_TOOL: Readonly<Record<Oracle, string>> = { qemu: 'qemu-system-i386', bochs: 'bochs' };

/** The last line every kernel prints; an oracle run is over when it appears. */
export const END_LINE = 'end';
const TIMEOUT_MS = 120_000;

function withTempDir<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'mesovirt-conformance-'));
  return f(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** Whether the kernel's text output has printed its end line (null: a
 * kernel whose output is binary, never scanned for one). */
function reachedEnd(text: string, endLine: string | null, from = 0): boolean {
  if (endLine === null) return false;
  return text.startsWith(`${endLine}\n`) || text.includes(`\n${endLine}\n`, from);
}

/** How each oracle says the guest shut down (a triple fault): QEMU with
 * -no-reboot exits with status 0 on the reset it would do (isa-debug-exit
 * gives odd statuses); Bochs with reset_on_triple_fault=0 stops with
 * "exception(): 3rd (13) exception with no resolution" on stderr. */
type ShutdownSign = (code: number | null, text: string, stderr: string) => boolean;

/** Run a command, collect stdout, and stop it once the end line (or the
 * timeout) is reached; oracles that cannot exit by themselves are killed.
 * With `endLine` null the output is binary: it is kept whole until the
 * command exits, never cut at bytes that happen to read as an end line. */
function collect(command: string, args: string[], cwd: string, shutdownSeen: ShutdownSign, endLine: string | null = END_LINE): Promise<Transcript> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let stderr = '';
    let ending = 'exit';
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ text, ending });
    };
    const timer = setTimeout(() => { ending = 'timeout'; child.kill('SIGKILL'); }, TIMEOUT_MS);
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (chunk: string) => {
      text += chunk;
      // Only the new text (and the line it may complete) can hold the end line.
      if (reachedEnd(text, endLine, Math.max(0, text.length - chunk.length - (endLine?.length ?? 0) - 2))) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('error', (e) => { clearTimeout(timer); reject(new Error(`${command}: ${e.message}`)); });
    child.on('close', (code) => {
      if (text === '' && code !== null && code > 1 && ending !== 'timeout') {
        ending = `failed (${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
      } else if (ending !== 'timeout' && !reachedEnd(text, endLine) && shutdownSeen(code, text, stderr)) {
        ending = 'shutdown';
      }
      finish();
    });
  });
}

/** How a kernel's output on port 0xE9 ends: a text kernel's last line
 * (the conformance kernels' 'end' by default; QEMU is stopped when it
 * appears), or, for a kernel that writes binary records, only the guest's
 * own exit through isa-debug-exit (its bytes are never scanned for a line;
 * the caller checks the length it expects). */
export type QemuOutput = { readonly endLine: string } | 'binary';

export function runQemu(image: Uint8Array, output: QemuOutput = { endLine: END_LINE }): Promise<Transcript> {
  return withTempDir(async (dir) => {
    writeFileSync(join(dir, 'kernel.bin'), image);
    return collect('qemu-system-i386', ['-kernel', 'kernel.bin', '-display', 'none', '-serial', 'none', '-monitor', 'none',
      '-debugcon', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-m', '64', '-no-reboot'], dir, (code) => code === 0,
      output === 'binary' ? null : output.endLine);
  });
}

/** The floppy loader's boot sector, assembled with nasm (16-bit code is
 * outside our assembler's subset). */
export function bootSector(dir: string): Uint8Array {
  const out = join(dir, 'boot.bin');
  const r = spawnSync('nasm', ['-f', 'bin', '-o', out, join(CONFORMANCE_DIR, 'boot', 'floppy.asm')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nasm boot/floppy.asm: ${r.stderr}`);
  return new Uint8Array(readFileSync(out));
}

const FLOPPY_SIZE = 1_474_560;
const KERNEL_SECTORS_OFFSET = 508;

/** A 1.44 MB floppy: boot sector, then the image from sector 2. */
export function floppyImage(boot: Uint8Array, image: Uint8Array): Uint8Array {
  const sectors = Math.ceil(image.length / 512);
  if (512 + sectors * 512 > FLOPPY_SIZE || sectors > 1000) throw new Error(`kernel of ${image.length} bytes does not fit the floppy loader`);
  const disk = new Uint8Array(FLOPPY_SIZE);
  disk.set(boot, 0);
  disk[KERNEL_SECTORS_OFFSET] = sectors & 0xff;
  disk[KERNEL_SECTORS_OFFSET + 1] = sectors >> 8;
  disk.set(image, 512);
  return disk;
}

function firstExisting(paths: string[]): string {
  return paths.find((p) => existsSync(p)) ?? paths[0]!;
}

/** `endLine`: the last line the kernel prints (the conformance kernels' 'end' by default). */
export function runBochs(image: Uint8Array, endLine = END_LINE): Promise<Transcript> {
  return withTempDir(async (dir) => {
    writeFileSync(join(dir, 'floppy.img'), floppyImage(bootSector(dir), image));
    const bios = firstExisting(['/usr/share/bochs/BIOS-bochs-latest', '/usr/local/share/bochs/BIOS-bochs-latest']);
    const vga = firstExisting(['/usr/share/vgabios/vgabios.bin', '/usr/share/bochs/VGABIOS-lgpl-latest']);
    writeFileSync(join(dir, 'bochsrc'), [
      'megs: 64',
      `romimage: file=${bios}`,
      `vgaromimage: file=${vga}`,
      'floppya: 1_44=floppy.img, status=inserted',
      'boot: floppy',
      'log: /dev/null',
      'display_library: rfb, options="timeout=0"', // Debian's build has no nogui
      'port_e9_hack: enabled=1',
      // Without a sound card on the host, Debian's Bochs 2.7 aborts in its
      // mixer thread ("buffer overflow detected"): no sound at all.
      'sound: driver=dummy',
      'speaker: enabled=0',
      'cpu: ips=50000000, reset_on_triple_fault=0',
      'panic: action=fatal',
      '',
    ].join('\n'));
    writeFileSync(join(dir, 'commands'), 'c\n'); // continue past the debugger prompt
    const run = await collect('bochs', ['-q', '-f', 'bochsrc', '-rc', 'commands'], dir,
      (_code, _text, stderr) => /exception with no resolution|triple fault/i.test(stderr), endLine);
    // Bochs prints its banner and debugger prompt on stdout too: keep what
    // follows the boot (the kernel's lines start after the "Next at t=0" stop).
    const lines = run.text.split('\n');
    const start = lines.findIndex((l) => /^\(0\) \[0x0*fffffff0\]/.test(l));
    // and nothing after the end line (the debugger reports where it stopped).
    const kept = lines.slice(start + 1);
    const end = kept.indexOf(endLine);
    if (end >= 0) return { text: `${kept.slice(0, end + 1).join('\n')}\n`, ending: run.ending };
    // no end line (a shutdown): keep the kernel's own lines, not the
    // debugger's report of where and why it stopped.
    const own = kept.filter((l) => !/^(\(\d+\)|<bochs|Next at|\s*$)/.test(l));
    return { text: own.length === 0 ? '' : `${own.join('\n')}\n`, ending: run.ending };
  });
}

export function runOracle(oracle: Oracle, image: Uint8Array): Promise<Transcript> {
  return oracle === 'qemu' ? runQemu(image) : runBochs(image);
}
