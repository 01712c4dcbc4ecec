// The hello guest boots on QEMU (the outside oracle for a Multiboot image):
// built by our assembler as an ELF (program headers) and as a flat image
// (a.out-kludge header), it must print exactly the line on the debug
// console and exit through isa-debug-exit with status (0 << 1) | 1 = 1.
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oracleAvailable } from '../properties/tools';

const haveQemu = oracleAvailable('qemu-system-i386');

function buildAndBoot(format: 'elf' | 'bin', defines: string[]): { stdout: string; status: number | null } {
  const dir = mkdtempSync(join(tmpdir(), 'mesovirt-hello-'));
  try {
    const image = join(dir, `hello.${format}`);
    const built = spawnSync('node', ['bin/mesovirt.js', 'asm', 'guests/hello/hello.asm', '-o', image, '--format', format, ...defines.flatMap((d) => ['-D', d])], { encoding: 'utf8' });
    expect(built.stderr).toBe('');
    expect(built.status).toBe(0);
    expect(existsSync(image)).toBe(true);
    const run = spawnSync('timeout', ['20', 'qemu-system-i386', '-kernel', image, '-display', 'none', '-serial', 'none', '-monitor', 'none',
      '-debugcon', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-m', '64'], { encoding: 'utf8' });
    return { stdout: run.stdout, status: run.status };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.runIf(haveQemu)('hello guest on QEMU', () => {
  test('ELF build prints the line and exits with 1', () => {
    expect(buildAndBoot('elf', [])).toEqual({ stdout: 'hello from mesovirt\n', status: 1 });
  });
  test('flat build with the Multiboot a.out kludge prints the line and exits with 1', () => {
    expect(buildAndBoot('bin', ['MULTIBOOT_AOUT_KLUDGE'])).toEqual({ stdout: 'hello from mesovirt\n', status: 1 });
  });
});
