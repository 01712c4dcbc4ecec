; sensitive.asm -- the sensitive but unprivileged instructions, and the
; privileged ones, at CPL 1 and CPL 3 (and CPL 0 for reference).
;
; SGDT/SIDT/SLDT/STR/SMSW/PUSH CS/PUSHF read system state without trapping;
; LAR/LSL/VERR/VERW inspect descriptors (ZF says whether the selector passed
; the checks at the current CPL); MOV CRn, LGDT, LIDT, LTR, LLDT, CLTS, HLT,
; INVLPG and LMSW must fault with #GP(0) outside ring 0.
; Line names: "sens CPL INSTRUCTION [SELECTOR]".
%include "harness.inc"

cpls: dd 0, 1, 3
selectors: dd 0x00, CODE0, DATA0, CODE1 | 1, DATA1 | 1, CODE3 | 3, DATA3 | 3, TSS_SEL, DATA0 | 3, GDT_ENTRIES * 8, 0x0C
selectors_end:
inspectors: dd lar_op, lsl_op, verr_op, verw_op
insp_names: db "lar ", 0, "lsl ", 0, "verr", 0, "verw", 0
singles:
    dd sgdt_op, sidt_op, sldt_op, str_op, smsw_op, push_cs_op, pushf_op
    dd mov_cr0_op, mov_to_cr3_op, lgdt_op, lidt_op, ltr_op, lldt_op, clts_op, hlt_op, invlpg_op, lmsw_op
singles_end:
single_names:
    db "sgdt", 0, 0, 0, 0, 0, 0, 0, 0, "sidt", 0, 0, 0, 0, 0, 0, 0, 0
    db "sldt", 0, 0, 0, 0, 0, 0, 0, 0, "str", 0, 0, 0, 0, 0, 0, 0, 0, 0
    db "smsw", 0, 0, 0, 0, 0, 0, 0, 0, "push cs", 0, 0, 0, 0, 0
    db "pushf", 0, 0, 0, 0, 0, 0, 0, "mov eax,cr0", 0
    db "mov cr3,eax", 0, "lgdt", 0, 0, 0, 0, 0, 0, 0, 0
    db "lidt", 0, 0, 0, 0, 0, 0, 0, 0, "ltr", 0, 0, 0, 0, 0, 0, 0, 0, 0
    db "lldt", 0, 0, 0, 0, 0, 0, 0, 0, "clts", 0, 0, 0, 0, 0, 0, 0, 0
    db "hlt", 0, 0, 0, 0, 0, 0, 0, 0, 0, "invlpg", 0, 0, 0, 0, 0, 0
    db "lmsw", 0, 0, 0, 0, 0, 0, 0, 0

i_cpl: dd 0
i_item: dd 0
i_sel: dd 0
param_sel: dd 0
msg_sens: db "sens ", 0

print_cpl:
    mov esi, msg_sens
    call print_string
    mov eax, [i_cpl]
    mov eax, [cpls + eax * 4]
    add al, '0'
    call print_char
    jmp print_space
single_name:
    call print_cpl
    mov eax, [i_item]
    lea esi, [single_names + eax * 4]
    lea esi, [esi + eax * 8]            ; 12 bytes a name
    jmp print_string
inspect_name:
    call print_cpl
    mov eax, [i_item]
    lea esi, [insp_names + eax * 4]
    add esi, [i_item]
    call print_string
    call print_space
    mov eax, [param_sel]
    jmp print_hex16

; inspectors: a = result register (preset to 0x5a5a5a5a), d = ZF
%macro inspect 1
    mov eax, 0x5A5A5A5A
    mov ecx, [param_sel]
    %1
    setz dl
    movzx edx, dl
    sub ecx, ecx
    ret
%endmacro
lar_op:                                 ; bits 19..16 of the result are undefined: masked
    mov eax, 0x5A5A5A5A
    mov ecx, [param_sel]
    lar eax, ecx
    setz dl
    movzx edx, dl
    jnz .kept
    and eax, 0x00F0FF00
.kept:
    sub ecx, ecx
    ret
lsl_op: inspect {lsl eax, ecx}
verr_op: inspect {verr cx}
verw_op: inspect {verw cx}

sgdt_op:
    sgdt [TEST_AREA]
    movzx ecx, word [TEST_AREA]
    mov eax, [TEST_AREA + 2]
    sub edx, edx
    ret
sidt_op:
    sidt [TEST_AREA]
    movzx ecx, word [TEST_AREA]
    mov eax, [TEST_AREA + 2]
    sub edx, edx
    ret
sldt_op:
    mov eax, 0x5A5A5A5A
    sldt ax
    sub ecx, ecx
    sub edx, edx
    ret
str_op:
    mov eax, 0x5A5A5A5A
    str ax
    sub ecx, ecx
    sub edx, edx
    ret
smsw_op:
    mov eax, 0x5A5A5A5A
    smsw ax                             ; 16-bit form: the upper half stays
    sub ecx, ecx
    sub edx, edx
    ret
push_cs_op:
    push cs
    pop eax
    sub ecx, ecx
    sub edx, edx
    ret
pushf_op:
    pushfd
    pop eax
    sub ecx, ecx
    sub edx, edx
    ret
mov_cr0_op:
    mov eax, cr0
    sub ecx, ecx
    sub edx, edx
    ret
mov_to_cr3_op:
    mov eax, cr3
    mov cr3, eax
    sub ecx, ecx
    sub edx, edx
    ret
lgdt_op:
    lgdt [gdt_pointer]
    sub eax, eax
    sub ecx, ecx
    sub edx, edx
    ret
lidt_op:
    lidt [idt_pointer]
    sub eax, eax
    sub ecx, ecx
    sub edx, edx
    ret
ltr_op:                                 ; at CPL 0: the TSS is busy, so #GP(sel)
    mov ax, TSS_SEL
    ltr ax
    sub ecx, ecx
    sub edx, edx
    ret
lldt_op:
    sub eax, eax
    lldt ax
    sub ecx, ecx
    sub edx, edx
    ret
clts_op:
    clts
    sub eax, eax
    sub ecx, ecx
    sub edx, edx
    ret
hlt_op:                                 ; only run at CPL > 0 (it would stop ring 0)
    hlt
    sub eax, eax
    sub ecx, ecx
    sub edx, edx
    ret
invlpg_op:
    invlpg [TEST_AREA]
    sub eax, eax
    sub ecx, ecx
    sub edx, edx
    ret
lmsw_op:
    smsw ax
    lmsw ax
    sub eax, eax
    sub ecx, ecx
    sub edx, edx
    ret
tests:
    mov dword [i_cpl], 0
.cpl:
    mov dword [i_item], 0
.single:
    mov eax, [i_item]
    cmp dword [singles + eax * 4], hlt_op
    jne .run_single
    cmp dword [i_cpl], 0
    je .next_single
.run_single:
    mov eax, [i_cpl]
    mov eax, [cpls + eax * 4]
    mov [test_ring], eax
    mov dword [name_printer], single_name
    sub esi, esi
    mov eax, [i_item]
    mov ebx, [singles + eax * 4]
    call run_test
.next_single:
    inc dword [i_item]
    cmp dword [i_item], (singles_end - singles) / 4
    jb .single
    mov dword [i_item], 0
.inspector:
    mov dword [i_sel], 0
.sel:
    mov eax, [i_sel]
    mov eax, [selectors + eax * 4]
    mov [param_sel], eax
    mov eax, [i_cpl]
    mov eax, [cpls + eax * 4]
    mov [test_ring], eax
    mov dword [name_printer], inspect_name
    sub esi, esi
    mov eax, [i_item]
    mov ebx, [inspectors + eax * 4]
    call run_test
    inc dword [i_sel]
    cmp dword [i_sel], (selectors_end - selectors) / 4
    jb .sel
    inc dword [i_item]
    cmp dword [i_item], 4
    jb .inspector
    inc dword [i_cpl]
    cmp dword [i_cpl], 3
    jb .cpl
    ret

%include "harness-end.inc"
