; io.asm -- I/O privilege: IOPL against CPL, the TSS I/O permission bitmap,
; and what POPF and CLI/STI do to IF and IOPL at each CPL.
;
; For CPL 0, 1, 3 and IOPL 0, 1, 3 (the body starts with that IOPL and
; IF = 0), each body performs one operation and reports ok (a = EFLAGS as
; PUSHF shows it afterwards) or the fault. The bitmap allows port 0x84 only
; (ports 0x80-0x87 are DMA page registers: writes are harmless everywhere).
; Line names: "io CPL IOPL OPERATION", e.g. "io 3 0 out 0x84".
%include "harness.inc"

ALLOWED_PORT equ 0x84

cpls: dd 0, 1, 3
iopls: dd 0, 1, 3
ops:
    dd out_denied, out_allowed, out_word_straddle, out_dx_allowed, cli_op, sti_op
    dd popf_if, popf_iopl3, popf_iopl0, iret_same_ring_if
ops_end:
op_names:
    db "out 0x80", 0, 0, 0, 0, 0, 0, 0, 0
    db "out 0x84", 0, 0, 0, 0, 0, 0, 0, 0
    db "out 0x83 word", 0, 0, 0
    db "out dx=0x84", 0, 0, 0, 0, 0
    db "cli", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    db "sti", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    db "popf if=1", 0, 0, 0, 0, 0, 0, 0
    db "popf iopl=3", 0, 0, 0, 0, 0
    db "popf iopl=0", 0, 0, 0, 0, 0
    db "iret if=1", 0, 0, 0, 0, 0, 0, 0

i_cpl: dd 0
i_iopl: dd 0
i_op: dd 0
msg_io: db "io ", 0

io_name:
    mov esi, msg_io
    call print_string
    mov eax, [i_cpl]
    mov eax, [cpls + eax * 4]
    add al, '0'
    call print_char
    call print_space
    mov eax, [i_iopl]
    mov eax, [iopls + eax * 4]
    add al, '0'
    call print_char
    call print_space
    mov eax, [i_op]
    shl eax, 4
    lea esi, [op_names + eax]
    call print_string
    ret

%macro report_flags 0
    pushfd
    pop eax
    sub ecx, ecx
    sub edx, edx
    ret
%endmacro

out_denied:
    mov al, 0
    out 0x80, al
    report_flags
out_allowed:
    mov al, 0
    out ALLOWED_PORT, al
    report_flags
out_word_straddle:              ; ports 0x83 and 0x84: 0x83 is denied
    mov ax, 0
    out 0x83, ax
    report_flags
out_dx_allowed:
    mov dx, ALLOWED_PORT
    mov al, 0
    out dx, al
    report_flags
cli_op:
    cli
    report_flags
sti_op:
    sti
    report_flags
popf_if:                        ; POPF with IF = 1 and the current IOPL kept
    pushfd
    or dword [esp], 0x200
    popfd
    report_flags
popf_iopl3:
    pushfd
    or dword [esp], 0x3000
    popfd
    report_flags
popf_iopl0:
    pushfd
    and dword [esp], ~0x3000
    popfd
    report_flags
iret_same_ring_if:              ; IRET to the same ring (EIP, CS, EFLAGS only) with IF = 1, IOPL 3
    pushfd
    pop eax
    or eax, 0x3200
    mov dx, cs
    movzx edx, dx
    push eax
    push edx
    push dword .after
    iretd
.after:
    report_flags

tests:
    mov dword [IOMAP_ADDR + ALLOWED_PORT / 8], 0xFFFFFFFF & ~(1 << (ALLOWED_PORT % 8))
    mov dword [i_cpl], 0
.cpl:
    mov dword [i_iopl], 0
.iopl:
    mov dword [i_op], 0
.op:
    mov eax, [i_cpl]
    mov eax, [cpls + eax * 4]
    mov [test_ring], eax
    mov eax, [i_iopl]
    mov eax, [iopls + eax * 4]
    shl eax, 12
    or eax, 2
    mov [test_eflags], eax
    mov dword [name_printer], io_name
    sub esi, esi
    mov eax, [i_op]
    mov ebx, [ops + eax * 4]
    call run_test
    inc dword [i_op]
    cmp dword [i_op], (ops_end - ops) / 4
    jb .op
    inc dword [i_iopl]
    cmp dword [i_iopl], 3
    jb .iopl
    inc dword [i_cpl]
    cmp dword [i_cpl], 3
    jb .cpl
    ret

%include "harness-end.inc"
