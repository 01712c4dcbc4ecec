; paging.asm -- page-level protection, #PF error codes and CR2, accessed
; and dirty bits, and the TLB where the manual fixes its behaviour.
;
; Paging maps 0-12 MiB one to one (4 KiB pages, all user and writable);
; the page directory entry of 8-12 MiB and the page table entry of the test
; page 0x00801000 are rewritten for each test, with A and D cleared, and CR3
; is reloaded. The test page holds 0xaaaa0001 (its alternative frame
; 0x00802000 holds 0xbbbb0002).
;
; 1. "pg CPL rd|wr wpN PDE/PTE": a read, or a write of 0x12345678, at CPL
;    0, 1, 3 with CR0.WP = 0 or 1, for PTE flags none / P / P+W / P+U /
;    P+W+U (PDE P+W+U), and for PDE flags none / P / P+W / P+U (PTE P+W+U,
;    WP = 1). ok: a = the dword read back, c = the PTE's A and D bits
;    (0x20, 0x40), d = the PDE's. A fault: #PF with its error code and CR2.
;    A and D are read back only after an access that succeeded: the manual
;    lets a faulting access set accessed bits or not.
; 2. "tlb ...": a not-present entry made present needs no INVLPG (not-present
;    entries are never cached, SDM Vol. 3A 4.10.2.3); after a remap, INVLPG
;    or a CR3 load makes the new frame visible. Whether a stale entry is used
;    before that is left open by the manual (4.10.4.3), so it is not tested.
; 3. "prio ...": a segment limit violation comes before a not-present page
;    (#GP, not #PF); a DIV whose memory operand is on a not-present page
;    faults #PF before any #DE.
%define HIDE_AF_OF                     ; bodies end on shifts and logic ops (harness.inc)
%include "harness.inc"

PD      equ 0x00500000
PT0     equ 0x00501000                  ; 0-4 MiB, then 4-8 and 8-12 MiB
PT_TEST equ PT0 + 0x2000                ; 8-12 MiB
TEST_PAGE equ 0x00801000
ALT_PAGE  equ 0x00802000
PTE_TEST  equ PT_TEST + 4               ; entry of 0x00801000
PDE_TEST  equ PD + 2 * 4
LIMITED   equ SCRATCH                   ; data, DPL 3, base TEST_PAGE - 0x1000, limit 0xFFF

cpls: dd 0, 1, 3
pte_kinds: dd 0, 1, 3, 5, 7
flag_names: db "---", 0, "p--", 0, "?", 0, 0, 0, "pw-", 0, "?", 0, 0, 0, "p-u", 0, "?", 0, 0, 0, "pwu", 0
pde_kinds: dd 0, 1, 3, 5

i_cpl: dd 0
i_op: dd 0
i_wp: dd 0
i_flags: dd 0
pte_flags: dd 7
pde_flags: dd 7
msg_pg: db "pg ", 0
msg_rd: db " rd wp", 0
msg_wr: db " wr wp", 0

print_digit:
    add al, '0'
    jmp print_char

print_flags:                            ; eax = P W U bits
    lea esi, [flag_names + eax * 4]
    jmp print_string

pg_name:
    mov esi, msg_pg
    call print_string
    mov eax, [i_cpl]
    mov eax, [cpls + eax * 4]
    call print_digit
    mov esi, msg_rd
    cmp dword [i_op], 0
    je .op
    mov esi, msg_wr
.op:
    call print_string
    mov eax, [i_wp]
    call print_digit
    call print_space
    mov eax, [pde_flags]
    call print_flags
    mov al, '/'
    call print_char
    mov eax, [pte_flags]
    jmp print_flags

; ---- paging set-up ---------------------------------------------------------------------
flush:
    push eax
    mov eax, cr3
    mov cr3, eax
    pop eax
    ret

enable_paging:
    mov edi, PD
    sub eax, eax
    mov ecx, 1024
    rep stosd
    mov edi, PT0                        ; three page tables, identity, U W P
    mov eax, 7
    mov ecx, 3 * 1024
.pte:
    stosd
    add eax, 0x1000
    dec ecx
    jnz .pte
    mov dword [PD], PT0 | 7
    mov dword [PD + 4], (PT0 + 0x1000) | 7
    mov dword [PD + 8], PT_TEST | 7
    mov eax, PD
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    jmp .on
.on:
    ret

; prepare: the test page's contents, then PDE/PTE with the flags under
; test (A and D clear), CR0.WP, and a flushed TLB.
prepare:
    mov dword [PDE_TEST], PT_TEST | 7
    mov dword [PTE_TEST], TEST_PAGE | 7
    call flush
    mov dword [TEST_PAGE], 0xAAAA0001
    mov dword [ALT_PAGE], 0xBBBB0002
    mov eax, [pde_flags]
    or eax, PT_TEST
    mov [PDE_TEST], eax
    mov eax, [pte_flags]
    or eax, TEST_PAGE
    mov [PTE_TEST], eax
    mov eax, cr0
    and eax, ~0x10000
    mov ecx, [i_wp]
    shl ecx, 16
    or eax, ecx
    mov cr0, eax
    jmp flush

%macro report_ad 0
    mov ecx, [PTE_TEST]
    and ecx, 0x60
    mov edx, [PDE_TEST]
    and edx, 0x60
    ret
%endmacro
read_body:
    mov eax, [TEST_PAGE]
    report_ad
write_body:
    mov dword [TEST_PAGE], 0x12345678
    mov eax, [TEST_PAGE]
    report_ad

run_pg:
    call prepare
    mov eax, [i_cpl]
    mov eax, [cpls + eax * 4]
    mov [test_ring], eax
    mov dword [name_printer], pg_name
    sub esi, esi
    mov ebx, read_body
    cmp dword [i_op], 0
    je .run
    mov ebx, write_body
.run:
    jmp run_test

; the loops: over CPL, operation and (for PTE kinds) WP
pte_tests:
    mov dword [pde_flags], 7
    mov dword [i_flags], 0
.flags:
    mov eax, [i_flags]
    mov eax, [pte_kinds + eax * 4]
    mov [pte_flags], eax
    mov dword [i_wp], 0
.wp:
    mov dword [i_cpl], 0
.cpl:
    mov dword [i_op], 0
.op:
    call run_pg
    inc dword [i_op]
    cmp dword [i_op], 2
    jb .op
    inc dword [i_cpl]
    cmp dword [i_cpl], 3
    jb .cpl
    inc dword [i_wp]
    cmp dword [i_wp], 2
    jb .wp
    inc dword [i_flags]
    cmp dword [i_flags], 5
    jb .flags
    ret

pde_tests:
    mov dword [pte_flags], 7
    mov dword [i_wp], 1
    mov dword [i_flags], 0
.flags:
    mov eax, [i_flags]
    mov eax, [pde_kinds + eax * 4]
    mov [pde_flags], eax
    mov dword [i_cpl], 0
.cpl:
    mov dword [i_op], 0
.op:
    call run_pg
    inc dword [i_op]
    cmp dword [i_op], 2
    jb .op
    inc dword [i_cpl]
    cmp dword [i_cpl], 3
    jb .cpl
    inc dword [i_flags]
    cmp dword [i_flags], 4
    jb .flags
    ret

; ---- TLB ----------------------------------------------------------------------------------
; made present: not present, touched (#PF), then present without a flush
tlb_np_body:
    mov dword [PTE_TEST], TEST_PAGE         ; not present
    call flush
    mov eax, [TEST_PAGE]                    ; #PF: the handler below skips it
    mov dword [PTE_TEST], TEST_PAGE | 7     ; present, no INVLPG, no CR3 load
    mov eax, [TEST_PAGE]
    mov ecx, [fault_seen]
    sub edx, edx
    ret

; remapped to the other frame, then INVLPG / CR3 load
tlb_invlpg_body:
    mov eax, [TEST_PAGE]                    ; cached
    mov dword [PTE_TEST], ALT_PAGE | 7
    invlpg [TEST_PAGE]
    mov eax, [TEST_PAGE]
    mov dword [PTE_TEST], TEST_PAGE | 7
    invlpg [TEST_PAGE]
    mov ecx, [TEST_PAGE]
    sub edx, edx
    ret
tlb_cr3_body:
    mov eax, [TEST_PAGE]
    mov dword [PTE_TEST], ALT_PAGE | 7
    call flush
    mov eax, [TEST_PAGE]
    mov dword [PTE_TEST], TEST_PAGE | 7
    call flush
    mov ecx, [TEST_PAGE]
    sub edx, edx
    ret

; A #PF handler for tlb_np_body: counts, records CR2, and skips the
; 5-byte MOV EAX, [moffs32].
fault_seen: dd 0
pf_skip:
    push eax
    mov eax, cr2
    mov [fault_seen], eax
    pop eax
    add dword [esp + 4], 5
    add esp, 4                              ; the error code
    iretd

tlb_tests:
    mov dword [pde_flags], 7
    mov dword [pte_flags], 7
    mov dword [i_wp], 0
    call prepare
    mov ebx, 14
    mov eax, pf_skip
    mov ecx, 0x8E00
    call set_gate
    TEST "tlb np made present", tlb_np_body
    mov ebx, 14
    mov eax, stub_14
    mov ecx, 0x8E00
    call set_gate
    call prepare
    TEST "tlb remap invlpg", tlb_invlpg_body
    call prepare
    TEST "tlb remap cr3", tlb_cr3_body
    ret

; ---- priorities -----------------------------------------------------------------------
limit_body:                                 ; offset 0x1000 is past the limit, and its page absent
    mov ax, LIMITED | 3
    mov ds, ax
    mov eax, [0x1000]
    ret
inside_body:                                ; offset 0xFFC is inside, its page absent
    mov ax, LIMITED | 3
    mov ds, ax
    mov eax, [0x0FFC]
    ret
div_body:
    sub edx, edx
    mov eax, 1
    div dword [TEST_PAGE]                   ; page absent: #PF (the divisor is never read)
    ret

prio_tests:
    mov edi, LIMITED
    mov eax, TEST_PAGE - 0x1000
    mov edx, 0xFFF
    mov ecx, 0xF2 | 0x4000                  ; data, DPL 3, byte granular, B = 1
    call write_descriptor
    mov dword [pde_flags], 7
    mov dword [pte_flags], 0
    call prepare
    mov dword [PTE_TEST - 4], (TEST_PAGE - 0x1000)   ; the page below: absent too
    call flush
    mov dword [test_ring], 3
    TEST "prio limit before page", limit_body
    mov dword [test_ring], 3
    TEST "prio page inside limit", inside_body
    mov dword [PTE_TEST - 4], (TEST_PAGE - 0x1000) | 7
    call flush
    TEST "prio page before div", div_body
    ret

tests:
    call enable_paging
    call pte_tests
    call pde_tests
    call tlb_tests
    call prio_tests
    mov dword [pde_flags], 7
    mov dword [pte_flags], 7
    mov dword [i_wp], 0
    jmp prepare

%include "harness-end.inc"
