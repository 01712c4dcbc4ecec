; segload.asm -- loading data and stack segment registers.
;
; For every ring the body can run at (CPL 0, 1, 3), for DS and for SS, for
; fourteen kinds of descriptor (data read-only/read-write, expand-up/-down;
; code execute-only/readable, conforming or not; LDT, TSS, call gate,
; interrupt gate, reserved system type 0; a not-present data segment), with
; DPL 0, 1 and 3, and with RPL equal to the CPL and RPL 3, the body loads the
; selector and reports: ok (a = the selector read back, d = the descriptor's
; access byte afterwards, so the accessed bit shows) or the fault.
; Then special selectors: null, past the GDT limit, in an absent LDT, and a
; memory access through a null DS (QEMU does not fault there).
; Line names: "seg CPL REG SEL ACCESS", e.g. "seg 3 ss 0043 f2".
%include "harness.inc"

NUM_KINDS equ 14
kinds:  db 0x90, 0x92, 0x94, 0x96          ; data: RO, RW, RO expand-down, RW expand-down
        db 0x98, 0x9A, 0x9C, 0x9E          ; code: X, XR, X conforming, XR conforming
        db 0x82, 0x89, 0x8C, 0x8E, 0x80    ; LDT, TSS, call gate, interrupt gate, reserved 0
        db 0x12                            ; RW data, not present
dpls:   db 0, 1, 3
cpls:   dd 0, 1, 3

i_cpl: dd 0
i_reg: dd 0
i_kind: dd 0
i_dpl: dd 0
i_rpl: dd 0                                 ; 0: RPL = CPL, 1: RPL = 3
cur_access: dd 0
param_sel: dd 0

reg_names: db "ds", 0, 0, "ss", 0, 0
msg_seg: db "seg ", 0

seg_name:
    mov esi, msg_seg
    call print_string
    mov eax, [i_cpl]
    mov eax, [cpls + eax * 4]
    add al, '0'
    call print_char
    call print_space
    mov eax, [i_reg]
    lea esi, [reg_names + eax * 4]
    call print_string
    call print_space
    mov eax, [param_sel]
    call print_hex16
    call print_space
    mov eax, [cur_access]
    call print_hex8
    ret

; Load [param_sel] into DS; report the selector and the access byte after.
load_ds:
    mov ax, [param_sel]
    mov ds, ax
    mov ax, ds
    movzx eax, ax
    sub ecx, ecx
    movzx edx, byte [ss:gdt + SCRATCH + 5]
    ret

; Load [param_sel] into SS and put the old SS back at once (no stack use in
; between: the new segment may be empty).
load_ss:
    mov ax, [param_sel]
    mov cx, ss
    mov ss, ax
    mov ax, ss
    mov ss, cx
    movzx eax, ax
    sub ecx, ecx
    movzx edx, byte [gdt + SCRATCH + 5]
    ret

tests:
    mov dword [i_cpl], 0
.cpl:
    mov dword [i_reg], 0
.reg:
    mov dword [i_kind], 0
.kind:
    mov dword [i_dpl], 0
.dpl:
    mov dword [i_rpl], 0
.rpl:
    mov eax, [i_cpl]
    mov ecx, [cpls + eax * 4]               ; ecx = CPL
    cmp dword [i_rpl], 0
    je .rpl_set
    cmp ecx, 3                              ; RPL 3 is the same case when CPL = 3
    je .skip
    mov ecx, 3
.rpl_set:
    or ecx, SCRATCH
    mov [param_sel], ecx
    mov eax, [i_kind]
    movzx ecx, byte [kinds + eax]
    mov eax, [i_dpl]
    movzx eax, byte [dpls + eax]
    shl eax, 5
    or ecx, eax
    mov [cur_access], ecx
    or ecx, 0xC000                          ; G = 1, D/B = 1
    mov edi, SCRATCH
    sub eax, eax
    mov edx, 0xFFFFF
    call write_descriptor
    mov eax, [i_cpl]
    mov eax, [cpls + eax * 4]
    mov [test_ring], eax
    mov dword [name_printer], seg_name
    sub esi, esi
    mov ebx, load_ds
    cmp dword [i_reg], 0
    je .run
    mov ebx, load_ss
.run:
    call run_test
.skip:
    inc dword [i_rpl]
    cmp dword [i_rpl], 2
    jb .rpl
    inc dword [i_dpl]
    cmp dword [i_dpl], 3
    jb .dpl
    inc dword [i_kind]
    cmp dword [i_kind], NUM_KINDS
    jb .kind
    inc dword [i_reg]
    cmp dword [i_reg], 2
    jb .reg
    inc dword [i_cpl]
    cmp dword [i_cpl], 3
    jb .cpl

    ; special selectors, at each ring
    TEST "null ds cpl0", null_ds
    TEST_AT 1, "null ds cpl1", null_ds
    TEST_AT 3, "null ds cpl3", null_ds
    TEST "null ss cpl0", null_ss
    TEST_AT 3, "null ss cpl3", null_ss
    TEST "null ds rpl3 cpl0", null_ds_rpl3
    TEST "read via null ds", read_null_ds
    TEST "write via null es", write_null_es
    TEST "fs past gdt limit", past_limit
    TEST_AT 3, "fs past gdt limit cpl3", past_limit
    TEST "gs in absent ldt", absent_ldt
    TEST "ds = tss selector", tss_as_data
    TEST "pop ds null", pop_null_ds
    TEST "pop ss null", pop_null_ss
    ret

null_ds:
    sub eax, eax
    mov ds, ax
    mov ax, ds
    mov cx, ss
    mov ds, cx
    sub ecx, ecx
    sub edx, edx
    ret
null_ss:
    sub eax, eax
    mov cx, ss
    mov ss, ax
    mov ss, cx
    sub edx, edx
    ret
null_ds_rpl3:
    mov eax, 3
    mov ds, ax
    mov ax, ds
    mov cx, DATA0
    mov ds, cx
    sub ecx, ecx
    sub edx, edx
    ret
read_null_ds:
    sub eax, eax
    mov ds, ax
    mov eax, [TEST_AREA]
    sub ecx, ecx
    sub edx, edx
    ret
write_null_es:
    sub eax, eax
    mov es, ax
    mov dword [es:TEST_AREA], 1
    sub ecx, ecx
    sub edx, edx
    ret
past_limit:
    mov eax, GDT_ENTRIES * 8 + 8
    mov fs, ax
    sub ecx, ecx
    sub edx, edx
    ret
absent_ldt:
    mov eax, 0x0C                           ; index 1, TI = 1
    mov gs, ax
    sub ecx, ecx
    sub edx, edx
    ret
tss_as_data:
    mov eax, TSS_SEL
    mov ds, ax
    sub ecx, ecx
    sub edx, edx
    ret
pop_null_ds:
    push dword 0
    pop ds
    mov ax, ds
    movzx eax, ax
    push ss
    pop ds
    sub ecx, ecx
    sub edx, edx
    ret
pop_null_ss:
    push dword 0
    pop ss
    sub eax, eax
    sub ecx, ecx
    sub edx, edx
    ret
%include "harness-end.inc"
