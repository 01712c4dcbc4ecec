// Runs a benchmark image on qemu-system-i386 (TCG), as a child process.
//
// QEMU is timed as a whole process, from spawn to exit; its start-up (tens
// to hundreds of milliseconds) is measured separately on an image that exits
// at once, and subtracted by the caller. The image is passed with -kernel
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
export async function runOnQemu(image: Uint8Array, options: { icount?: boolean; timeoutMs?: number } = {}): Promise<ExternalRun> {
  const dir = mkdtempSync(join(tmpdir(), 'mesovirt-bench-'));
  const path = join(dir, 'kernel.bin');
  writeFileSync(path, image);
  const args = ['-kernel', path, '-display', 'none', '-serial', 'none', '-monitor', 'none', '-debugcon', 'stdio',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-m', '64', ...(options.icount ? ['-icount', 'shift=0'] : [])];
  try {
    return await new Promise<ExternalRun>((resolve, reject) => {
      const start = performance.now();
      const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
      child.on('error', (e) => { clearTimeout(timer); reject(e); });
      child.on('close', (code) => {
        const ms = performance.now() - start;
        clearTimeout(timer);
        if (code !== 1) {
          reject(new Error(`${QEMU} exited with ${code} (expected 1 from isa-debug-exit): ${Buffer.concat(err).toString().trim()}`));
          return;
        }
        resolve({ output: Buffer.concat(out).toString('latin1'), ms, instructions: null });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
