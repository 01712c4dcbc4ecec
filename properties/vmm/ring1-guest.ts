// A small ring-1 guest kernel for looking at one instruction at a time
// under the monitor: it loads its own GDT (kernel segments DPL 1, plus a
// DPL-0 segment, a 4-GiB segment, a TSS, an LDT and a second code segment
// for the monitor to check), an IDT whose exception gates record the vector
// and error code and resume where the body said, then runs `body` and exits
// through port 0xF4. The body stores what it sees in RESULTS (dwords).
import { assembleText } from '../../model/isa/asm/assemble';
import { bootGuest } from '../../model/vmm/boot';
import { runWorld, type RunResult } from '../../model/vmm/run';
import { readPhysical } from '../../model/cpu/memory';
import { DEFAULT_CONFIG } from '../../model/vmm/config';

export const RESULTS = 0x118000;
/** Where the fault handlers write: how many faults, the last error code (0 if none pushed). */
export const FAULT_COUNT = RESULTS + 0x100, FAULT_CODE = RESULTS + 0x108;

export const ring1GuestSource = (body: string): string => `bits 32
org 0x100000
RESULTS equ ${RESULTS}
IDT equ 0x110000
TSS equ 0x111000
LDT equ 0x111800
header:
    dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
    dd header, header, image_end, 0x120000, start
start:
    cli
    mov esp, 0x117000
    lgdt [gdt_pointer]
    jmp 0x09:.reload
.reload:
    mov ax, 0x11
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ebx, ebx
.gate:
    mov eax, fault
    cmp ebx, 8
    je .error
    cmp ebx, 10
    jb .set
    cmp ebx, 14
    ja .set
.error:
    mov eax, fault_with_code
.set:
    call set_gate
    inc ebx
    cmp ebx, 32
    jb .gate
    mov ebx, 0x40
    mov eax, soft_interrupt
    call set_gate
    lidt [idt_pointer]
${body}
    mov al, 0
    out 0xf4, al
.stop:
    hlt
    jmp .stop

set_gate:                       ; IDT[EBX] := DPL-1 interrupt gate to EAX
    mov [IDT + ebx * 8], ax
    mov word [IDT + ebx * 8 + 2], 0x09
    mov word [IDT + ebx * 8 + 4], 0xAE00
    push eax
    shr eax, 16
    mov [IDT + ebx * 8 + 6], ax
    pop eax
    ret
fault_with_code:
    pop dword [RESULTS + 0x108]
    jmp record
fault:
    mov dword [RESULTS + 0x108], 0
record:
    inc dword [RESULTS + 0x100]
    push eax                    ; resume where the body said, not at the fault
    mov eax, [resume]
    mov [esp + 4], eax
    pop eax
    iret
soft_interrupt:
    inc dword [RESULTS + 0x10C]
    iret

resume: dd 0
gdt:
    dq 0
    dd 0x0000BFFF, 0x00CFBA00   ; 0x08 kernel code, DPL 1, ends at 0xFBFFFFFF
    dd 0x0000BFFF, 0x00CFB200   ; 0x10 kernel data, DPL 1, ends at 0xFBFFFFFF
    dd 0x0000FFFF, 0x00CF9200   ; 0x18 data, DPL 0 (the monitor refuses it)
    dd 0x0000FFFF, 0x00CFB200   ; 0x20 data, DPL 1, 4 GiB (the monitor lowers its limit)
    dd 0x10000067, 0x00008911   ; 0x28 TSS at TSS, limit 0x67 (not copied to the real GDT)
    dd 0x1800000F, 0x00008211   ; 0x30 LDT at LDT, two entries
    dd 0x0000BFFF, 0x00CFBA00   ; 0x38 a second kernel code segment, DPL 1
    dd 0x0000FFFF, 0x00CF9A00   ; 0x40 code, DPL 0 (refused)
gdt_end:
gdt_pointer:
    dw gdt_end - gdt - 1
    dd gdt
idt_pointer:
    dw 0x41 * 8 - 1
    dd IDT
image_end:
`;

export function ring1GuestImage(body: string): Uint8Array {
  const r = assembleText({ 'g.asm': ring1GuestSource(body) }, 'g.asm', { format: 'bin' });
  if (r.kind !== 'ok') throw new Error(r.errors.map((e) => `line ${e.line}: ${e.message}`).join('\n'));
  return r.bytes;
}

export interface Ring1Run extends RunResult {
  /** A dword of guest-physical memory. */
  readonly dword: (guestPhysical: number) => number;
}

export function runRing1(body: string, steps = 5000): Ring1Run {
  const boot = bootGuest(ring1GuestImage(body));
  if (boot.kind !== 'ok') throw new Error(boot.message);
  const r = runWorld(boot.world, steps);
  return { ...r, dword: (a) => readPhysical(r.world.machine.memory, DEFAULT_CONFIG.partitionBase + a, 4) };
}
