// [GANDALF.DIRECT.2] [MEM.DIRECT.5] [MEM.DIRECT.6] gandalf's direct mode
// runs any instruction that writes a page-table page once, single-stepped
// (a string store, an arithmetic read-modify-write), and a guest that
// single-steps itself gets its own #DB: it refines model/vmm at every
// guest instruction; and on QEMU, whose REP STOSD traps after each
// iteration, the page-table writer prints the same. About 4 s.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRefinement } from '../../properties/gandalf/refine';
import { buildGandalf } from '../../properties/gandalf/build';
import { oracleAvailable } from '../../properties/tools';
import { assembleSource } from '../../properties/assemble-file';

/**
 * A ring-1 guest with its own page tables (directory 0x110000, identity
 * table 0x111000 for 0..4 MiB, data table 0x112000 for 4..8 MiB; frames
 * 0x120000.. hold 'A', 'B', 'C', 'D', 'E'), which writes its data table
 * through the identity mapping (a page-table page: demoted, MEM.DIRECT.3):
 * - REP STOSD maps pages 1 and 2 to frame B: prints "ABB" (page 0 was A);
 * - OR maps page 3 (empty) to D, ADD moves page 0 from A to E: "DE";
 * - with its own TF set, MOV maps page 4 to C and SUB moves it to B: "B",
 *   and its #DB handler counted five traps (the MOV, the SUB, PUSHFD, AND,
 *   the POPF that clears TF): "5".
 */
function pageTableWriter(): Uint8Array {
  const source = `bits 32
org 0x100000
    dd 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000), 0x100000, 0x100000, image_end, 0, start
start:
    mov esp, 0x90000
    lidt [idt_pointer]
    mov edi, 0x111000             ; the identity table, paging still off
    mov eax, 3
.fill:
    mov [edi], eax
    add eax, 0x1000
    add edi, 4
    cmp edi, 0x112000
    jb .fill
    mov eax, 0x110000
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov al, [0x400000]
    out 0xE9, al                  ; A
    mov edi, 0x112004
    mov eax, 0x121003
    mov ecx, 2
    rep stosd                     ; pages 1 and 2 -> B
    invlpg [0x402000]
    mov al, [0x401000]
    out 0xE9, al
    mov al, [0x402000]
    out 0xE9, al
    or dword [0x11200C], 0x123003 ; page 3 -> D
    add dword [0x112000], 0x4000  ; page 0: A -> E
    invlpg [0x400000]
    mov al, [0x40300C]
    out 0xE9, al
    mov al, [0x400000]
    out 0xE9, al
    pushfd
    or dword [esp], 0x100
    popfd                         ; the guest single-steps from here
    mov dword [0x112010], 0x122003
    sub dword [0x112010], 0x1000
    pushfd
    and dword [esp], ~0x100
    popfd
    mov al, [0x404000]
    out 0xE9, al
    mov al, [traps]
    add al, '0'
    out 0xE9, al
    mov al, 0
    out 0xF4, al
debug_trap:
    inc dword [traps]
    iretd
traps: dd 0
idt_pointer: dw 2 * 8 - 1
    dd idt
align 8
idt:
    dq 0
    dw debug_trap - 0x100000, 0xFE1, 0x8E00, 0x0010
times 0x10000 - ($ - $$) db 0
directory:                        ; 0x110000
    dd 0x111003, 0x112003
    times 1022 dd 0
identity:                         ; 0x111000, filled at run time
    times 1024 dd 0
data_table:                       ; 0x112000: page 0 -> A, page 2 -> C read-only
    dd 0x120003, 0, 0x122001
    times 1021 dd 0
times 0x20000 - ($ - $$) db 0
    times 4096 db 'A'
    times 4096 db 'B'
    times 4096 db 'C'
    times 4096 db 'D'
    times 4096 db 'E'
image_end:
`;
  return assembleSource('pt.asm', source);
}

/**
 * A guest on its own flat DPL-1 segments (so that its INT 0x80 gate becomes
 * a direct gate, VMM.IRQ.1) whose stack lies on its data table (a
 * page-table page): the INT's pushes write that page. Run with the entry
 * open, the INT would enter the guest's handler with TF cleared, no #DB to
 * end the step, and the page writable; model/vmm's step of it does not
 * retire: both monitors stop the guest, before the handler's 'H'.
 */
function interruptOnTables(): Uint8Array {
  const source = `bits 32
org 0x100000
    dd 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000), 0x100000, 0x100000, image_end, 0, start
start:
    mov esp, 0x90000
    lgdt [gdt_pointer]
    jmp 0x09:reloaded
reloaded:
    mov ax, 0x11
    mov ds, ax
    mov es, ax
    mov ss, ax
    lidt [idt_pointer]
    mov edi, 0x111000
    mov eax, 3
.fill:
    mov [edi], eax
    add eax, 0x1000
    add edi, 4
    cmp edi, 0x112000
    jb .fill
    mov eax, 0x110000
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov al, 'A'
    out 0xE9, al
    mov esp, 0x112100               ; the stack on the data table
    int 0x80
    mov al, 'X'
    out 0xE9, al
    mov al, 0
    out 0xF4, al
handler:
    mov dword [0x112020], 0x123003  ; a write the open entry would let through
    mov al, 'H'
    out 0xE9, al
    mov al, 0
    out 0xF4, al
gdt_pointer: dw 3 * 8 - 1
    dd gdt
idt_pointer: dw 0x81 * 8 - 1
    dd idt
align 8
gdt:
    dq 0
    dq 0x00CFBA000000FFFF           ; 0x08: flat code, DPL 1
    dq 0x00CFB2000000FFFF           ; 0x10: flat data, DPL 1
idt:
    times 0x80 dq 0
    dw handler - 0x100000, 0x09, 0xEE00, 0x0010
times 0x10000 - ($ - $$) db 0
    dd 0x111003, 0x112003           ; the directory at 0x110000
    times 1022 dd 0
    times 1024 dd 0                 ; the identity table, filled at run time
    times 1024 dd 0                 ; the data table
image_end:
`;
  return assembleSource('int.asm', source);
}

describe('[GANDALF.DIRECT.2] [MEM.DIRECT.6] gandalf-direct single-steps the writes to page-table pages', () => {
  it('an INT n whose pushes write a page-table page is not stepped: both monitors stop the guest', () => {
    const r = checkRefinement(interruptOnTables(), { mode: 'direct', maxUnits: 20_000 });
    expect(r.divergence).toBeNull();
    expect(r.end).toBe('exit 255');
    expect(r.console).toBe('A[gandalf] stopped: direct paging: the write to a page-table page could not be emulated\n');
  }, 30_000);

  it('a string store, OR and ADD on page-table entries, and a guest stepping itself: every unit compared', () => {
    const r = checkRefinement(pageTableWriter(), { mode: 'direct', maxUnits: 20_000 });
    expect(r.divergence).toBeNull();
    expect(r.end).toBe('exit 1'); // 0 written to port 0xF4
    expect(r.console).toBe('ABBDEB5');
    // Five page faults on the data table (REP STOSD, OR, ADD, MOV, SUB), each emulated.
    expect(r.exitsByReason['page fault']).toBeGreaterThanOrEqual(5);
    expect(r.exitsByReason['reflect 1']).toBe(3); // the traps after PUSHFD, AND, POPF
  }, 30_000);

  it.runIf(oracleAvailable('qemu-system-i386'))('QEMU runs gandalf-direct with the page-table writer to the same transcript', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gandalf-step-'));
    writeFileSync(join(dir, 'gandalf.bin'), buildGandalf({ MEMORY_DIRECT: '' }));
    writeFileSync(join(dir, 'guest.bin'), pageTableWriter());
    const q = spawnSync('qemu-system-i386', ['-kernel', join(dir, 'gandalf.bin'), '-initrd', join(dir, 'guest.bin'), '-display', 'none', '-serial', 'none',
      '-monitor', 'none', '-debugcon', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-m', '64'], { encoding: 'latin1', timeout: 60_000 });
    expect(q.stdout).toBe('ABBDEB5');
    expect(q.status).toBe(1);
  }, 60_000);
});
