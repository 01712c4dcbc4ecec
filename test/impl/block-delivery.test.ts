// Page faults and system calls around translated blocks change nothing but
// speed. A random guest sets up its own GDT, TSS, IDT (interrupt or trap
// gates, chosen at random) and page tables, then runs a hot loop at CPL 0 or
// 3 over data pages that a system call (`int 0x80`) takes away each round:
// not present, read-only or supervisor-only, at random. The #PF handler
// gives the page back and folds the error code and CR2 into a checksum in
// memory, so a wrong error code, CR2, frame or retired count shows up. A
// machine driven by run() (blocks, with page faults found ahead of the
// executor and TLB misses walked inline: impl/fast-access.ts walkAhead) and one driven by step()
// (the interpreter, which the differential tests hold to the model) must
// see the same events at the same instruction counts and end in the same
// state and memory.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { assembleText } from '../../model/isa/asm/assemble';
import type { StepEvent } from '../../model/machine';
import { ImplMachine } from '../../impl/machine';
import { flatEntryState } from '../../properties/machines';
import { propertyParams } from '../../properties/seed';

/** Compile a block where the interpreter has run an instruction 8 times, looping or not,
 * so that short runs exercise blocks (impl/cpu.ts blockThresholds). */
const EAGER = { loop: 8, straight: 8 };

const MEMORY = 4 << 20;
const CODE = 0x100000;

const address = fc.tuple(fc.nat(3), fc.constantFrom(0, 4, 0x10, 0x7fc, 0xffc, 0xffe, 0xfff)).map(([page, offset]) => `[0x200000 + ${page * 0x1000 + offset}]`);
const size = fc.constantFrom('dword', 'byte', 'word');
const low = (r: string, s: string): string => (s === 'dword' ? r : s === 'byte' ? r[1] + 'l' : r.slice(1));
const access: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(address, size).map(([a, s]) => `mov ${low('eax', s)}, ${s} ${a}`),
  fc.tuple(address, size).map(([a, s]) => `mov ${s} ${a}, ${low('edx', s)}`),
  fc.tuple(fc.constantFrom('add', 'xor', 'cmp', 'sub'), address, fc.boolean()).map(([op, a, byte]) => (byte ? `${op} byte ${a}, dl` : `${op} ${a}, edx`)),
  fc.tuple(fc.constantFrom('add', 'or'), address).map(([op, a]) => `${op} eax, ${a}`),
  fc.tuple(fc.constantFrom('inc', 'dec'), address, fc.constantFrom('dword', 'byte')).map(([op, a, s]) => `${op} ${s} ${a}`),
  fc.tuple(address, fc.constantFrom('byte', 'word')).map(([a, s]) => `movzx edi, ${s} ${a}`),
  fc.constantFrom('push eax', 'pop edi', 'add edx, eax', 'rol edx, 3', 'inc eax'),
);

interface Case { body: string[]; cpl3: boolean; pfGate: number; callGate: number; wp: boolean; takeAway: number[] }
const caseArb: fc.Arbitrary<Case> = fc.record({
  body: fc.array(access, { minLength: 2, maxLength: 10 }),
  cpl3: fc.boolean(),
  pfGate: fc.constantFrom(0x8e, 0x8f),
  callGate: fc.constantFrom(0xee, 0xef),
  wp: fc.boolean(),
  // Page-table flags a data page gets back from the system call each round.
  takeAway: fc.array(fc.constantFrom(0, 0, 0x05, 0x03, 0x01, 0x07, 0x06), { minLength: 4, maxLength: 4 }),
});

function source(c: Case): string {
  const user = c.cpl3 ? 3 : 0;
  const pushes = c.body.filter((b) => b === 'push eax').length - c.body.filter((b) => b === 'pop edi').length;
  return `bits 32
org ${CODE}
PT equ 0x110000
PD equ 0x111000
IDT equ 0x112000
TSS equ 0x112800
  mov esp, 0x118000
  lgdt [gdtp]
  jmp 0x08:.cs
.cs:
  mov ax, 0x10
  mov ss, ax
  mov ax, 0x20 | 3
  mov ds, ax
  mov es, ax
  mov dword [TSS + 4], 0x118000
  mov dword [TSS + 8], 0x10
  mov ax, 0x28
  ltr ax
  mov ebx, 14
  mov eax, page_fault
  mov dl, ${c.pfGate}
  call set_gate
  mov ebx, 0x80
  mov eax, system_call
  mov dl, ${c.callGate}
  call set_gate
  lidt [idtp]
  mov eax, PD
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000${c.wp ? ' | 0x10000' : ''}
  mov cr0, eax
  push ${user ? '0x20 | 3' : '0x10'}
  push 0x130000
  push 2
  push ${user ? '0x18 | 3' : '0x08'}
  push user_main
  iretd
set_gate:
  mov [IDT + ebx*8], ax
  mov word [IDT + ebx*8 + 2], 0x08
  mov byte [IDT + ebx*8 + 4], 0
  mov [IDT + ebx*8 + 5], dl
  shr eax, 16
  mov [IDT + ebx*8 + 6], ax
  ret
page_fault:
  push eax
  push ebx
  mov eax, cr2
  add [sum], eax
  mov ebx, [esp + 8]
  xor [sum], ebx
  rol dword [sum], 5
  shr eax, 12
  and eax, 0x3ff
  or dword [PT + eax*4], 7
  inc dword [faults]
  pop ebx
  pop eax
  add esp, 4
  iretd
system_call:
  push ecx
  ${c.takeAway.map((f, i) => `mov dword [PT + ${(0x200 + i) * 4}], 0x${(0x200000 + i * 0x1000 + f).toString(16)}`).join('\n  ')}
  mov ecx, cr3
  mov cr3, ecx
  pop ecx
  iretd
sum: dd 0
faults: dd 0
gdt:
  dq 0
  dq 0x00CF9A000000FFFF
  dq 0x00CF92000000FFFF
  dq 0x00CFFA000000FFFF
  dq 0x00CFF2000000FFFF
  dw 103
  dw TSS & 0xFFFF
  db (TSS >> 16) & 0xFF
  db 0x89
  db 0
  db TSS >> 24
gdt_end:
gdtp:
  dw gdt_end - gdt - 1
  dd gdt
idtp:
  dw 256 * 8 - 1
  dd IDT
align 4096
user_main:
  mov ecx, 400
.loop:
  ${c.body.join('\n  ')}
  int 0x80
  ${pushes > 0 ? `add esp, ${pushes * 4}` : pushes < 0 ? `sub esp, ${-pushes * 4}` : ''}
  dec ecx
  jnz .loop
  jmp $
`;
}

const ends = (e: StepEvent): boolean => e.kind !== 'retired' && e.kind !== 'interrupt' && e.kind !== 'exception';

function trace(m: ImplMachine, limit: number, drive: (m: ImplMachine) => StepEvent): string[] {
  const out: string[] = [];
  while (m.state().instructionCount < limit) {
    const e = drive(m);
    if (e.kind !== 'retired') out.push(`${m.state().instructionCount} ${m.state().eip.toString(16)} ${JSON.stringify(e)}`);
    if (ends(e)) break;
  }
  return out;
}

function boot(code: Uint8Array): ImplMachine {
  const m = new ImplMachine(MEMORY);
  m.cpu.blockThresholds = EAGER;
  m.writePhysical(CODE, code);
  // Page tables (the guest loads CR3): 0..4 MiB identity-mapped, user and writable.
  const table = new DataView(new ArrayBuffer(0x2000));
  for (let p = 0; p < 1024; p++) table.setUint32(p * 4, (p << 12) | 7, true);
  table.setUint32(0x1000, 0x110000 | 7, true);
  m.writePhysical(0x110000, new Uint8Array(table.buffer));
  m.setState(flatEntryState(CODE, 0x118000));
  return m;
}

describe('page faults and system calls around translated blocks', () => {
  it('random hot loops losing their pages each round: run() and step() see the same events, state and memory', () => {
    let faultsTaken = 0;
    fc.assert(fc.property(caseArb, (c) => {
      const assembled = assembleText({ 'g.asm': source(c) }, 'g.asm', { format: 'bin' });
      if (assembled.kind !== 'ok') throw new Error(`${assembled.errors.map((e) => e.message).join('; ')}\n${source(c)}`);
      const fast = boot(assembled.bytes), slow = boot(assembled.bytes);
      const limit = 6000;
      const fastTrace = trace(fast, limit, (m) => m.run(Math.min(1500, limit - m.state().instructionCount)));
      const slowTrace = trace(slow, limit, (m) => m.step());
      expect(fastTrace).toEqual(slowTrace);
      expect(fast.state()).toEqual(slow.state());
      expect(Buffer.compare(fast.readPhysical(0, MEMORY), slow.readPhysical(0, MEMORY))).toBe(0);
      // runThroughEvents (the bench's runner) steps over the deliveries and
      // stops at the same instruction count, in the same state.
      const through = boot(assembled.bytes);
      for (let e: StepEvent = { kind: 'retired' }; !ends(e) && through.state().instructionCount < limit;) {
        e = through.runThroughEvents(Math.min(1500, limit - through.state().instructionCount));
        expect(e.kind === 'exception' || e.kind === 'interrupt').toBe(false);
      }
      expect(through.state()).toEqual(slow.state());
      expect(Buffer.compare(through.readPhysical(0, MEMORY), slow.readPhysical(0, MEMORY))).toBe(0);
      through.release();
      if (fastTrace.some((t) => t.includes('"vector":14'))) faultsTaken++;
      fast.release(); slow.release();
    }), propertyParams(120));
    // The property means something only if page faults were taken in most cases.
    expect(faultsTaken).toBeGreaterThan(60);
  });
});
