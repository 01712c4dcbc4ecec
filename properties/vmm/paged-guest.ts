// Random *well-behaved* guest kernels for [VMM.EQ]: one NASM source with a
// native build (ring 0) and a meso build (ring 1, under `%ifdef MESO`), like
// guests/teach, whose body is a random sequence of operations on a paged
// data window: reads and writes through random page tables, CR3 switches
// between two address spaces, page-table edits each followed by INVLPG,
// CLI/STI with PUSHF showing IF, and every fault printed with its error code
// and CR2 by the kernel's own handler. Everything the program learns goes
// to the console, so that native and monitored runs can be compared by
// their transcripts. The program keeps to defined behaviour: a page-table
// edit is always followed by INVLPG of its page, and CR0.WP is set.
import fc from 'fast-check';
import { assembleText } from '../../model/isa/asm/assemble';
import type { VmmRules } from '../../model/vmm/rules';
import { observeNative, observeUnderMonitor } from './equivalence';

/** The data window: 4 pages from linear 0x00400000, through random page tables. */
export const WINDOW = 0x00400000;
const PAGES = 4;
/** Data frames the window's entries may name (guest-physical). */
const FRAMES = 0x00130000;

export type PagedOp =
  | { readonly kind: 'write'; readonly page: number; readonly offset: number; readonly value: number }
  | { readonly kind: 'read'; readonly page: number; readonly offset: number }
  | { readonly kind: 'switch'; readonly space: 0 | 1 }
  /** Change a window entry of the current space, then INVLPG its page. */
  | { readonly kind: 'remap'; readonly page: number; readonly entry: number }
  | { readonly kind: 'show-entry'; readonly space: 0 | 1; readonly page: number }
  | { readonly kind: 'interrupts'; readonly on: boolean }
  | { readonly kind: 'show-if' }
  /** Read a page, write it, then show its entry in the current space (what
   * a kernel's page-out code does to learn whether a page is dirty). */
  | { readonly kind: 'update'; readonly page: number; readonly value: number };

export interface PagedGuest {
  /** Initial window entries of the two spaces' page tables. */
  readonly tables: readonly [readonly number[], readonly number[]];
  readonly program: readonly PagedOp[];
}

/** A window entry: a data frame with random present, writable and user bits. */
const entry = fc.record({ frame: fc.integer({ min: 0, max: PAGES - 1 }), present: fc.boolean(), writable: fc.boolean(), user: fc.boolean() })
  .map((e) => (FRAMES + e.frame * 0x1000) | (e.present ? 1 : 0) | (e.writable ? 2 : 0) | (e.user ? 4 : 0));
const page = fc.integer({ min: 0, max: PAGES - 1 });
const offset = fc.constantFrom(0, 4, 0x800, 0xffc);
const space = fc.constantFrom(0, 1) as fc.Arbitrary<0 | 1>;

export const pagedOp: fc.Arbitrary<PagedOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('write' as const), page, offset, value: fc.nat({ max: 0xffffffff }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('read' as const), page, offset }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('switch' as const), space }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remap' as const), page, entry }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("show-entry" as const), space, page }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('interrupts' as const), on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'show-if' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('update' as const), page, value: fc.nat({ max: 0xffffffff }) }) },
);

export const pagedGuest: fc.Arbitrary<PagedGuest> = fc.record({
  tables: fc.tuple(fc.array(entry, { minLength: PAGES, maxLength: PAGES }), fc.array(entry, { minLength: PAGES, maxLength: PAGES })),
  program: fc.array(pagedOp, { minLength: 8, maxLength: 40, size: 'max' }),
});

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/** One operation as NASM lines (the slot's label and resume point are added around it). */
function opLines(op: PagedOp, current: 0 | 1): string[] {
  const at = (p: number, o: number) => hex(WINDOW + p * 0x1000 + o);
  switch (op.kind) {
    case 'write': return [`mov dword [${at(op.page, op.offset)}], ${hex(op.value)}`];
    case 'read': return [`mov eax, [${at(op.page, op.offset)}]`, 'call put_hex'];
    case 'switch': return [`mov eax, ${op.space === 0 ? 'PD_A' : 'PD_B'}`, 'mov cr3, eax'];
    // Defined behaviour only: the edited page is invalidated at once (in the current space).
    case 'remap': return [`mov dword [${current === 0 ? 'PT_A' : 'PT_B'} + ${op.page * 4}], ${hex(op.entry)}`, `invlpg [${at(op.page, 0)}]`];
    case 'show-entry': return [`mov eax, [${op.space === 0 ? 'PT_A' : 'PT_B'} + ${op.page * 4}]`, 'call put_hex'];
    case 'interrupts': return [op.on ? 'sti' : 'cli'];
    // [SENS.PUSHF.1] PUSHF at ring 1 shows the real IF, which the monitor keeps equal to the virtual IF.
    case 'show-if': return ['pushfd', 'pop eax', 'shr eax, 9', 'and al, 1', "add al, '0'", 'out 0xe9, al'];
    case 'update': return [`mov eax, [${at(op.page, 0)}]`, `mov dword [${at(op.page, 0)}], ${hex(op.value)}`, ...opLines({ kind: 'show-entry', space: current, page: op.page }, current)];
  }
}

/** The NASM source of a paged guest (both builds). */
export function pagedGuestSource(guest: PagedGuest): string {
  let current: 0 | 1 = 0;
  const slots = guest.program.flatMap((op, i) => {
    const lines = [`slot${i}:`, `    mov dword [resume], slot${i + 1}`, ...opLines(op, current).map((l) => `    ${l}`)];
    if (op.kind === 'switch') current = op.space;
    return lines;
  });
  const table = (entries: readonly number[]) => entries.map((e) => `    dd ${hex(e)}`).join('\n');
  return `bits 32
org 0x100000
%ifdef MESO
KRING equ 1                     ; [meso] the kernel runs in ring 1
LIMIT equ 0xFBFFF               ; [meso] segments end below the monitor
%else
KRING equ 0
LIMIT equ 0xFFFFF
%endif
KCS equ 0x08 + KRING
KDS equ 0x10 + KRING
IDT equ 0x110000
PD_A equ 0x120000
PD_B equ 0x121000
PT_ID equ 0x122000              ; identity map of 0..4 MiB, shared
PT_A equ 0x123000               ; the window of space A
PT_B equ 0x124000               ; the window of space B
STACK_TOP equ 0x118000

header:
    dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
    dd header, header, image_end, 0x128000, start

start:
    cli
    mov esp, STACK_TOP
    lgdt [gdt_pointer]
    jmp KCS:.reload
.reload:
    mov ax, KDS
    mov ds, ax
    mov es, ax
    mov ss, ax
    ; Gates 0..31: vector 14 to page_fault, the rest to other_fault.
    xor ebx, ebx
.gate:
    mov eax, other_fault
    cmp ebx, 14
    jne .set
    mov eax, page_fault
.set:
    mov [IDT + ebx * 8], ax
    mov word [IDT + ebx * 8 + 2], KCS
    mov word [IDT + ebx * 8 + 4], 0x8E00 | (KRING << 13)
    shr eax, 16
    mov [IDT + ebx * 8 + 6], ax
    inc ebx
    cmp ebx, 32
    jb .gate
    lidt [idt_pointer]
    ; Page tables: identity 0..4 MiB (supervisor, writable); the windows from the tables below.
    mov edi, PT_ID
    mov eax, 3
.identity:
    mov [edi], eax
    add eax, 0x1000
    add edi, 4
    cmp edi, PT_ID + 4096
    jb .identity
    mov esi, window_a
    mov edi, PT_A
    mov ecx, ${PAGES * 2}
    rep movsd
    ; Each data frame starts filled with its own pattern, so a stale mapping shows.
    mov edi, ${hex(FRAMES)}
    mov eax, 0x11111111
.fill:
    mov ecx, 1024
    rep stosd
    add eax, 0x11111111
    cmp edi, ${hex(FRAMES + PAGES * 0x1000)}
    jb .fill
    mov dword [PD_A], PT_ID | 3
    mov dword [PD_A + 4], PT_A | 7
    mov dword [PD_B], PT_ID | 3
    mov dword [PD_B + 4], PT_B | 7
    mov eax, PD_A
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80010000          ; PG and WP
    mov cr0, eax
${slots.join('\n')}
slot${guest.program.length}:
    mov al, 0
    out 0xf4, al
.stop:
    hlt
    jmp .stop

; A fault prints '!', the vector or error code and CR2, then resumes at the next slot.
page_fault:
    pop eax                     ; the error code
    push eax
    mov al, '!'
    out 0xe9, al
    pop eax
    call put_hex
    mov eax, cr2
    call put_hex
    jmp resume_next
other_fault:
    mov al, '?'
    out 0xe9, al
resume_next:
    mov eax, [resume]
    mov [esp], eax
%ifdef MESO
    ; [meso] IRET at CPL 1 cannot set IF (SENS.IRET.1): STI traps and the
    ; monitor sets it, when the interrupted code had interrupts on.
    test byte [esp + 9], 2
    jz .stay_off
    sti
.stay_off:
%endif
    iret

put_hex:
    push ecx
    push edx
    mov edx, eax
    mov ecx, 8
.nibble:
    rol edx, 4
    mov eax, edx
    and eax, 0x0F
    mov al, [digits + eax]
    out 0xe9, al
    dec ecx
    jnz .nibble
    mov al, ' '
    out 0xe9, al
    pop edx
    pop ecx
    ret

digits: db "0123456789abcdef"
resume: dd 0
gdt:
    dq 0
    dw LIMIT & 0xFFFF, 0
    db 0, 0x9A | (KRING << 5), 0xC0 | (LIMIT >> 16), 0
    dw LIMIT & 0xFFFF, 0
    db 0, 0x92 | (KRING << 5), 0xC0 | (LIMIT >> 16), 0
gdt_end:
gdt_pointer:
    dw gdt_end - gdt - 1
    dd gdt
idt_pointer:
    dw 32 * 8 - 1
    dd IDT
window_a:
${table(guest.tables[0])}
window_b:
${table(guest.tables[1])}
image_end:
`;
}

/** Assemble one build of a paged guest with mesovirt's assembler. */
export function pagedGuestImage(guest: PagedGuest, meso: boolean): Uint8Array {
  const r = assembleText({ 'guest.asm': pagedGuestSource(guest) }, 'guest.asm', { format: 'bin', defines: meso ? { MESO: '' } : {} });
  if (r.kind !== 'ok') throw new Error(r.errors.map((e) => `line ${e.line}: ${e.message}`).join('\n'));
  return r.bytes;
}

/**
 * [VMM.EQ] over random paged guests: the meso build under the monitor (with
 * `rules`) prints exactly what the native build prints at ring 0 on the bare
 * model, and ends the same way. Throws a message naming VMM.EQ and the first
 * difference.
 */
export function pagedEquivalence(rules: VmmRules): fc.IPropertyWithHooks<[PagedGuest]> {
  return fc.property(pagedGuest, (guest) => {
    const native = observeNative(pagedGuestImage(guest, false), NATIVE_STEPS, false);
    const meso = observeUnderMonitor(pagedGuestImage(guest, true), NATIVE_STEPS * 8, rules, false);
    if (native.console !== meso.console || native.end !== meso.end) {
      let i = 0;
      while (i < native.console.length && native.console[i] === meso.console[i]) i++;
      throw new Error(`[VMM.EQ] the guest under the monitor diverges at console byte ${i}: native '${native.console.slice(i, i + 40)}' (${native.end}), `
        + `monitor '${meso.console.slice(i, i + 40)}' (${meso.end})`);
    }
  });
}

const NATIVE_STEPS = 20_000;
