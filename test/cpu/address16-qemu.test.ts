// The address-size prefix on the instructions that address through SI, DI,
// CX and BX (spec INS.ADDR16.1), against QEMU: test/host/address16-oracle.asm,
// assembled by nasm, runs twelve cases and writes registers and memory to
// the debug console. The model and impl must write the same bytes as QEMU;
// and, QEMU or not, the values below, worked out by hand from the manual,
// must be what they write. Ids: [INS.ADDR16.1] [ENC.PREFIX.3]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { assemble } from '../../model/isa/asm/assemble';
import { bootImage, createMachine, MACHINE_KINDS, runToEnd } from '../../properties/machines';
import { oracleAvailable } from '../../properties/tools';
import { runQemu } from '../../properties/conformance/oracles';

const source = join(dirname(fileURLToPath(import.meta.url)), '../host/address16-oracle.asm');
const CASES = 12;
const RECORD = 36;

/** The byte the kernel writes at offset i of the source window. */
const pattern = (i: number): number => (7 * i + 3 + 0x55 * (i >>> 16)) & 0xff;

interface Record { eax: number; ebx: number; ecx: number; esi: number; edi: number; flags: number; below: number; at0: number; past: number }

function records(out: Buffer): Record[] {
  // Case 12 writes its three bytes before its record.
  const list: Record[] = [];
  let at = 0;
  for (let k = 0; k < CASES; k++) {
    if (k === CASES - 1) at += 3;
    const d = (n: number) => out.readUInt32LE(at + 4 * n);
    list.push({ eax: d(0), ebx: d(1), ecx: d(2), esi: d(3), edi: d(4), flags: d(5), below: d(6), at0: d(7), past: d(8) });
    at += RECORD;
  }
  return list;
}

const dword = (b0: number, b1: number, b2: number, b3: number): number => (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0;
const CF = 0x1, ZF = 0x40, SF = 0x80;

/** Each case's expected values, from the manual's rules (INS.ADDR16.1, INS.STRING.*, INS.BRANCH.3, INS.DATA.8). */
function checkByHand(r: Record[], console: Buffer): void {
  // 1. a16 rep movsb, CX = 3, SI 0xFFFF -> 2, DI 0xFFFE -> 1: bytes p(0xFFFF), p(0), p(1) land at ES:FFFE, FFFF, 0.
  expect(r[0]).toMatchObject({ ecx: 0x12340000, esi: 0xabcd0002, edi: 0x56780001, below: dword(0, 0, pattern(0xffff), pattern(0)), at0: pattern(1), past: 0 });
  // 2. a16 rep stosw downwards, DI 0 -> 0xFFFE -> 0xFFFC: the word at ES:0 and at ES:FFFE.
  expect(r[1]).toMatchObject({ ecx: 0xffff0000, edi: 0x0000fffc, below: dword(0, 0, 0xef, 0xbe), at0: 0xbeef, past: 0 });
  // 3. a16 lodsd at SI = 0xFFFE reads the four bytes at offsets 0xFFFE..0x10001 (the access itself is not cut), SI -> 2.
  expect(r[2]).toMatchObject({ eax: dword(pattern(0xfffe), pattern(0xffff), pattern(0x10000), pattern(0x10001)), esi: 0x80000002 });
  // 4. a16 repne scasb from DI = 0xFFFE finds 0x77 at ES:1 after four elements: CX 0x10 -> 0x0C, DI -> 2, ZF set.
  expect(r[3]).toMatchObject({ ecx: 0x0001000c, edi: 0x12340002 });
  expect(r[3]!.flags & ZF).toBe(ZF);
  // 5. a16 cmpsb downwards at SI = DI = 0xFFFF: p(0xFFFF) - 0, no borrow; SI, DI -> 0xFFFE, upper halves kept.
  expect(r[4]).toMatchObject({ esi: 0x0000fffe, edi: 0xfffffffe });
  expect(r[4]!.flags & (CF | ZF | SF)).toBe(pattern(0xffff) & 0x80 ? SF : 0);
  // 6. a16 loop three times: ECX 0xABCD0003 -> 0xABCD0000.
  expect(r[5]).toMatchObject({ eax: 3, ecx: 0xabcd0000 });
  // 7. a16 loop from CX = 0 runs 65,536 times and ends with CX = 0 again.
  expect(r[6]).toMatchObject({ eax: 0x10000, ecx: 0x00050000 });
  // 8. JCXZ jumps (CX = 0), JECXZ does not (ECX = 0x10000): EAX = 0 | 2.
  expect(r[7]).toMatchObject({ eax: 2, ecx: 0x00010000 });
  // 9. a16 loope: EAX 2 (ZF = 1, CX 5 -> 4, jumps), EAX 3 (ZF = 0, CX -> 3, falls through).
  expect(r[8]).toMatchObject({ eax: 3, ecx: 0x00010003 });
  // 10. a16 xlatb: AL = DS:[(0xFFF0 + 0x20) mod 2^16] = p(0x10).
  expect(r[9]).toMatchObject({ eax: (0xcccccc00 | pattern(0x10)) >>> 0, ebx: 0x1234fff0 });
  // 11. fs a16 xlatb: AL = FS:[0x1000 + 0xFF] (FS is the same window).
  expect(r[10]).toMatchObject({ eax: pattern(0x10ff) });
  // 12. a16 rep outsb from SI = 0xFFFE: p(0xFFFE), p(0xFFFF), p(0) on the console; SI -> 1, CX -> 0.
  expect([...console.subarray(11 * RECORD, 11 * RECORD + 3)]).toEqual([pattern(0xfffe), pattern(0xffff), pattern(0)]);
  expect(r[11]).toMatchObject({ ecx: 0xffff0000, esi: 0x00000001 });
}

function ourAssembly(): Uint8Array {
  const result = assemble(source, (p) => readFileSync(p, 'utf8'), { format: 'bin' });
  if (result.kind !== 'ok') throw new Error(result.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n'));
  return result.bytes;
}

function runOurs(kind: (typeof MACHINE_KINDS)[number], image: Uint8Array): Buffer {
  const machine = createMachine(kind, 64 << 20);
  bootImage(machine, image, 'address16-oracle');
  const outcome = runToEnd(machine, 2_000_000);
  expect(outcome.end?.kind).toBe('exit');
  return Buffer.from(outcome.console, 'latin1');
}

describe('[INS.ADDR16.1] the address-size prefix on strings, LOOP, JCXZ and XLAT', () => {
  const image = ourAssembly();
  for (const kind of MACHINE_KINDS) {
    it(`on ${kind}: the values worked out from the manual`, () => {
      const out = runOurs(kind, image);
      expect(out.length).toBe(CASES * RECORD + 3);
      checkByHand(records(out), out);
    });
  }

  const available = oracleAvailable('qemu-system-i386') && oracleAvailable('nasm');
  it.skipIf(!available)('nasm builds the same bytes, and QEMU writes what model and impl write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesovirt-address16-'));
    const imagePath = join(dir, 'address16.bin');
    execFileSync('nasm', ['-f', 'bin', '-o', imagePath, source]);
    expect(Buffer.from(readFileSync(imagePath)).equals(Buffer.from(image))).toBe(true);
    const run = await runQemu(image, 'binary');
    expect(run.ending).toBe('exit');
    const qemu = Buffer.from(run.text, 'latin1');
    checkByHand(records(qemu), qemu);
    for (const kind of MACHINE_KINDS) expect([kind, runOurs(kind, image).toString('hex')]).toEqual([kind, qemu.toString('hex')]);
  }, 120_000);
});
