; Exercises every part of the assembler that nasm -f bin must agree with.
bits 32
org 0x7c00
%include "defs.inc"

%define COUNT 3
%ifdef FEATURE
  %define CHOICE 1
%else
  %ifndef OTHER
    %define CHOICE 2
  %else
    %define CHOICE 3
  %endif
%endif
%if CHOICE == 2 && COUNT > 1
  %define IF_EXPR 0x55
%elif CHOICE == 1
  %define IF_EXPR 0x66
%else
  %define IF_EXPR 0x77
%endif

%macro save 2+          ; push the first argument, then define the rest as bytes
    push %1
    db %2
%endmacro

%macro spin 1
%%again:
    dec %1
    jnz %%again
%endmacro

%assign SIXTEEN 4 * 4

section .text
global _start
_start:
    outbyte IO_BASE, 'A'
    spin ecx
    spin edx
    save eax, 1, 2, 3
%rep 2
    inc eax
%endrep
    mov eax, SQUARE(COUNT + 1)
    mov ebx, IF_EXPR
    mov ecx, SIXTEEN
    jmp short .after_data
.data_in_text: db 1, 2, 3
.after_data:
    ; branches: short forward and backward, near forward and backward
    jz .near_target
    jnz .short_target
    call function
.short_target:
    loop .short_target
    jecxz .short_target
    times 130 nop
.near_target:
    jmp .short_target
    je .short_target
    jmp near .short_target
    jmp short .near_target2
    nop
.near_target2:
    ; a chain: the first jump is short only because the second one is
    jmp .chain_end
    jmp .far_away
    times 120 db 0x90
.chain_end:
    times 10 nop
.far_away:
    ret

function:
    ; every addressing form
    mov eax, [ebx]
    mov eax, [ebp]
    mov eax, [esp]
    mov eax, [ebx+4]
    mov eax, [ebx-4]
    mov eax, [ebx+0x1000]
    mov eax, [esp+8]
    mov eax, [ebp-8]
    mov eax, [ebx+ecx]
    mov eax, [ebx+ecx*2]
    mov eax, [ecx*4+ebx+12]
    mov eax, [12+ebx+8*ecx]
    mov eax, [ecx*8]
    mov eax, [ecx*8+0x100]
    mov eax, [eax*2]
    mov eax, [eax*3]
    mov eax, [eax*5+1]
    mov eax, [eax*9]
    mov eax, [esi*1]
    mov eax, [ebx*1+ecx]
    mov eax, [eax+esp]
    mov eax, [ebp+esi*4-0x80]
    mov eax, [0x1234]
    mov eax, [variable]
    mov eax, [variable+ebx*4]
    mov al, [es:edi]
    mov [fs:ebx+4], eax
    mov [gs:0x10], cl
    mov byte [ebx], 0x12
    mov word [ebx], 0x1234
    mov dword [ebx], 0x12345678
    lea eax, [eax+ebx*8+127]
    lea eax, [eax+128]
    add eax, variable
    push variable
    push table - _start
    push 5
    push -1
    push word 300
    add esp, byte 8
    add ebx, 1000
    sub dword [ebx], -2
    and al, ~0x0f
    shl eax, 1
    shl eax, 4
    shr ebx, cl
    imul eax, ebx, 10
    movzx eax, byte [esi]
    movsx ecx, word [edi]
    in al, 0x60
    out dx, ax
    int 0x80
    int3
    rep movsb
    repe cmpsd
    repne scasb
    lock add [ebx], eax
    cld
    cdq
    cwde
    iretd
    pushfd
    popfd
    lgdt [gdt_descriptor]
    lidt [ebx]
    mov cr0, eax
    mov eax, cr3
    mov ds, ax
    mov es, [ebx]
    jmp 0x08:.flush
.flush:
    jmp far [ebx]
    call far [ebx+4]
    jmp eax
    call [ebx]
    ret 4
    retf
    xchg eax, ecx
    test [ebx], cl
    setz al
    cmovne eax, ebx
    bswap edx
    hlt

section .data
variable: dd 0xdeadbeef
table:
    db 'hello', 0, "world", 10, `tab\there\n`, 0
    db GREETING
    dw 'abc', 1, -1, 0xffff
    dd 'abcde', table, $, $$, $ - $$, table - $$
    dq 0x123456789abcdef0, -2
    ; numbers in every form nasm reads
    db 0bh, 0b101, 0x1f, 0h1f, $1f, 10q, 0o17, 0q17, 12d, 0d12, 0t12, 101y, 0y11, 1_0h, 017, 1fh
    ; operators and precedence
    dd 1 + 2 * 3, (1 + 2) * 3, 7 / 2, -7 // 2, 7 % 3, -7 %% 3, -1 / 2
    dd 1 << 4 | 1, 0xff & ~0x0f ^ 0x01, 256 >> 4, -256 >> 4, -256 >>> 4
    dd 3 == 3, 3 != 3, 2 < 3, 2 > 3, 2 <= 2, 3 >= 4, 1 && 0, 1 || 0, 1 ^^ 1, !0, -(5), +5
    dd 'a' + 1, 'ab', SQUARE(5), end_of_data - table
    times 3 db 0xaa
    times COUNT * 2 dw 0xbbbb
    align 8, db 0
    dd 1
gdt_descriptor:
    dw 23
    dd gdt
gdt: dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
end_of_data:

section .bss
buffer: resb 16
words: resw 4
dwords: resd 2
qwords: resq 1
after_bss:

section .text
    ; back in .text: bss addresses as values
    mov eax, buffer
    mov ebx, after_bss - buffer
    dd after_bss
size_of_text equ $ - $$
    times 1024 - size_of_text db 0
