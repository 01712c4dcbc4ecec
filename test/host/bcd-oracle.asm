; QEMU as an oracle for the decimal adjustments (DAA DAS AAA AAS AAM AAD),
; which the 64-bit host-CPU oracle cannot run. A Multiboot kernel (flat
; image, a.out kludge) that runs every adjustment on 4096 inputs each — AL
; 0..255 × AH in {0, 0x12, 0x99, 0xFF} × (AF, CF) in all four combinations —
; and writes, per input, the resulting AX (2 bytes) and EFLAGS (low 2 bytes)
; to the debug console port 0xE9, then exits through port 0xF4.
; Built with nasm -f bin; run by test/cpu/arith-bcd-qemu.test.ts.
bits 32
org 0x100000

header:
    dd 0x1BADB002                     ; Multiboot magic
    dd 0x00010000                     ; flags: addresses below are valid
    dd -(0x1BADB002 + 0x00010000)     ; checksum
    dd header, header, image_end, image_end, start

%macro ADJUST 1
    xor esi, esi
%%next:
    mov eax, esi
    and eax, 0xff                     ; AL = index bits 0..7
    mov ebx, esi
    shr ebx, 8
    and ebx, 3
    mov ah, [high_bytes + ebx]        ; AH from index bits 8..9
    mov ecx, esi
    shr ecx, 10
    and ecx, 3
    push dword [flag_values + ecx*4]  ; AF/CF from index bits 10..11
    popfd
    %1
    pushfd
    pop ecx
    mov edi, eax
    mov dx, 0xe9
    out dx, al
    mov al, ah
    out dx, al
    mov al, cl
    out dx, al
    mov al, ch
    out dx, al
    inc esi
    cmp esi, 4096
    jb %%next
%endmacro

start:
    mov esp, 0x200000
    ADJUST daa
    ADJUST das
    ADJUST aaa
    ADJUST aas
    ADJUST {aam 10}
    ADJUST {aam 16}
    ADJUST {aam 7}
    ADJUST {aam 255}
    ADJUST {aad 10}
    ADJUST {aad 16}
    ADJUST {aad 7}
    ADJUST {aad 255}
    mov dx, 0xf4
    xor eax, eax
    out dx, al
.stop:
    hlt
    jmp .stop

align 4
flag_values: dd 0x002, 0x003, 0x012, 0x013
high_bytes:  db 0x00, 0x12, 0x99, 0xff
image_end:
