// runQemu reads a kernel's port-0xE9 output in one of two ways: a text
// kernel's output up to its end line (QEMU is stopped there), or a binary
// kernel's whole output until the guest exits, never scanned for a line
// (test/cpu/arith-bcd-qemu, address16-qemu and interrupt-shadow write binary
// records, in which the bytes "\nend\n" may occur). The kernel here writes
// such bytes, waits a while, writes more and exits: read as text it is cut
// at the end line, read as binary it is whole. About 1 s.
import { describe, expect, it } from 'vitest';
import { assembleText } from '../model/isa/asm/assemble';
import { runQemu } from '../properties/conformance/oracles';
import { oracleAvailable } from '../properties/tools';

const KERNEL = `bits 32
org 0x100000
header:
  dd 0x1BADB002
  dd 0x00010000
  dd -(0x1BADB002 + 0x00010000)
  dd header, header, image_end, image_end, start
start:
  mov dx, 0xe9
  mov esi, first
  mov ecx, second - first
  rep outsb
  mov ecx, 800000000      ; a pause (about a second under TCG), so that QEMU is killed before the rest
pause:
  loop pause
  mov ecx, message_end - second
  rep outsb
  mov dx, 0xf4
  xor eax, eax
  out dx, eax
  hlt
first: db 1, 2, 10, "end", 10
second: db 0, 0xff, 10, "more", 10
message_end:
image_end:
`;
const FIRST = '\x01\x02\nend\n';
const SECOND = '\x00\xff\nmore\n';

describe.skipIf(!oracleAvailable('qemu-system-i386'))('runQemu: text up to the end line, binary until the guest exits', () => {
  const r = assembleText({ 'k.asm': KERNEL }, 'k.asm', { format: 'bin' });
  if (r.kind !== 'ok') throw new Error(r.errors.map((e) => e.message).join('; '));

  it('binary: every byte, "\\nend\\n" in the middle included, up to the guest\'s own exit', async () => {
    const run = await runQemu(r.bytes, 'binary');
    expect(run.ending).toBe('exit');
    expect(run.text).toBe(FIRST + SECOND);
  });

  it('text: QEMU is stopped at the end line, and what follows it is never read', async () => {
    const run = await runQemu(r.bytes);
    expect(run.text).toBe(FIRST);
  });
}, 60_000);
