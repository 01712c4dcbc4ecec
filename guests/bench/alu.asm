; alu.asm -- benchmark (a): a tight register-only ALU loop.
;
; Each iteration mixes four registers with ADD, XOR, ROL, SUB, LEA, SHR,
; IMUL, TEST, a data-dependent branch, and counts down with DEC/JNZ: no memory
; access at all, so this measures raw instruction dispatch and flag handling.
; It prints "alu " first (the start mark for outside timers), then the four
; registers in hex, and exits.
;
; Build: mesovirt asm --format bin -o alu.bin guests/bench/alu.asm [-D ALU_ITERATIONS=n]

org 0x100000
%include "common.inc"

%ifndef ALU_ITERATIONS
%define ALU_ITERATIONS 1000000
%endif

start:
    mov esp, stack_top
    mov esi, label                  ; the label first: its first byte marks the start
    call put_string                 ; for timers outside the machine (QEMU)
    mov ecx, ALU_ITERATIONS
    mov eax, 0x12345678             ; a
    mov ebx, 0x9E3779B9             ; b
    xor edx, edx                    ; c
    mov esi, 1                      ; d
.loop:
    add eax, ebx                    ; a += b
    xor ebx, eax                    ; b ^= a
    rol ebx, 7                      ; b = rol(b, 7)
    sub edx, ebx                    ; c -= b
    lea esi, [esi + edx*4 + 3]      ; d = d + 4c + 3
    mov edi, esi
    shr edi, 3
    xor eax, edi                    ; a ^= d >> 3
    imul eax, eax, 0x01000193       ; a *= 16777619 (mod 2^32)
    test eax, 1
    jz .even
    inc edx                         ; c += 1 when a is odd
.even:
    dec ecx
    jnz .loop

    mov edi, esi                    ; put_* clobber EAX and ESI: keep d in EDI
    push edx
    push ebx
    call put_hex                    ; a
    call put_space
    pop eax
    call put_hex                    ; b
    call put_space
    pop eax
    call put_hex                    ; c
    call put_space
    mov eax, edi
    call put_hex                    ; d
    call put_newline
    jmp exit

label: db "alu ", 0

align 16
image_end:
stack_top equ 0x00108000
BSS_END   equ 0x00108000
