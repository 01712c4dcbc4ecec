// Runs a benchmark image on qemu-system-i386 (TCG), as a child process.
//
// QEMU's start-up (BIOS, option ROMs, loading: hundreds of milliseconds on a
// loaded machine, and noisy) would swamp the run, so the run is timed from
// the first byte the kernel writes to the console (every benchmark kernel
// prints its label first) to the end of the process. `wholeMs` is the whole
// process, spawn to exit. The image is passed with -kernel
// (QEMU's own Multiboot loader); the console is -debugcon on stdio and the
// exit port is isa-debug-exit, whose status is (value << 1) | 1.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oracleAvailable } from '../properties/tools';
import type { ExternalRun } from './v86';

export const QEMU = 'qemu-system-i386';

export function qemuInstalled(): boolean {
  return oracleAvailable(QEMU);
}

/** `icount` adds `-icount shift=0` (one instruction per virtual nanosecond:
 * deterministic, and slower, since TCG must count every instruction). */
export async function runOnQemu(image: Uint8Array, options: { icount?: boolean; timeoutMs?: number; initrd?: Uint8Array } = {}): Promise<ExternalRun & { readonly wholeMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'mesovirt-bench-'));
  const path = join(dir, 'kernel.bin');
  writeFileSync(path, image);
  // `initrd`: a Multiboot module (the guest, when the kernel is gandalf).
  const module = options.initrd === undefined ? [] : ['-initrd', join(dir, 'module.bin')];
  if (options.initrd !== undefined) writeFileSync(join(dir, 'module.bin'), options.initrd);
  const args = ['-kernel', path, ...module, '-display', 'none', '-serial', 'none', '-monitor', 'none', '-debugcon', 'stdio',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-m', '64', ...(options.icount ? ['-icount', 'shift=0'] : [])];
  try {
    return await new Promise<ExternalRun & { readonly wholeMs: number }>((resolve, reject) => {
      const start = performance.now();
      const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let firstByte: number | null = null;
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => { firstByte ??= performance.now(); out.push(b); });
      child.stderr.on('data', (b: Buffer) => err.push(b));
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
      child.on('error', (e) => { clearTimeout(timer); reject(e); });
      child.on('close', (code) => {
        const end = performance.now();
        clearTimeout(timer);
        if (code !== 1) {
          reject(new Error(`${QEMU} exited with ${code} (expected 1 from isa-debug-exit): ${Buffer.concat(err).toString().trim()}`));
          return;
        }
        resolve({ output: Buffer.concat(out).toString('latin1'), ms: end - (firstByte ?? start), wholeMs: end - start, instructions: null });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
