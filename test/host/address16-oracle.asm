; QEMU as an oracle for the address-size prefix on the instructions that
; address through registers of their own (spec INS.ADDR16.1): the string
; instructions, LOOP/LOOPE, JCXZ and XLAT with 0x67 use SI, DI, CX and BX,
; wrapping at 64 KiB. The host CPU cannot run them (in 64-bit mode 0x67
; selects 32-bit addresses). A Multiboot kernel: DS and FS are a window at
; linear 0x300000, ES one at 0x400000 (limits 1 MiB, so that an offset that
; failed to wrap would read or write the bytes past 64 KiB instead of
; faulting). Each case sets the registers, runs the instruction and writes
; 36 bytes to the debug console 0xE9: EAX EBX ECX ESI EDI, EFLAGS & 0x8D5,
; and the dwords of the ES window at 0xFFFC, 0x0000 and 0x10000, which it
; then clears. Built with nasm -f bin; run by test/cpu/address16-qemu.test.ts
; on QEMU, model and impl.
bits 32
org 0x100000

header:
    dd 0x1BADB002
    dd 0x00010000
    dd -(0x1BADB002 + 0x00010000)
    dd header, header, image_end, image_end, start

FLAT_CODE equ 0x08
FLAT_DATA equ 0x10
SOURCE    equ 0x18                ; base 0x300000
DEST      equ 0x20                ; base 0x400000
WINDOW    equ 0x10010             ; bytes filled in each window

%macro SETUP 6                    ; eax, ebx, ecx, esi, edi, eflags
    push dword %6
    popfd
    mov eax, %1
    mov ebx, %2
    mov ecx, %3
    mov esi, %4
    mov edi, %5
%endmacro

start:
    cli
    mov esp, 0x200000
    lgdt [gdtr]
    jmp FLAT_CODE:.reload
.reload:
    mov ax, FLAT_DATA
    mov ss, ax
    mov gs, ax
    mov ax, SOURCE
    mov ds, ax
    mov fs, ax
    mov ax, DEST
    mov es, ax
    ; The source window holds p(i) = 7i + 3 + 0x55 * (i >> 16) (mod 256),
    ; so the byte at 0x10000 differs from the byte at 0; the destination
    ; window is zero.
    xor ecx, ecx
.fill:
    mov eax, ecx
    imul eax, 7
    add eax, 3
    mov edx, ecx
    shr edx, 16
    imul edx, 0x55
    add eax, edx
    mov [gs:0x300000 + ecx], al
    mov byte [gs:0x400000 + ecx], 0
    inc ecx
    cmp ecx, WINDOW
    jb .fill

    ; 1. a16 rep movsb across the wrap of SI (0xFFFF -> 0) and DI (0xFFFE -> 0).
    SETUP 0, 0, 0x12340003, 0xABCDFFFF, 0x5678FFFE, 0x002
    a16 rep movsb
    call dump
    ; 2. a16 rep stosw downwards from DI = 0: DI wraps to 0xFFFE.
    SETUP 0x1111BEEF, 0, 0xFFFF0002, 0, 0x00000000, 0x402
    a16 rep stosw
    call dump
    ; 3. a16 lodsd at SI = 0xFFFE: the dword at offset 0xFFFE, then SI = 2.
    SETUP 0, 0, 0, 0x8000FFFE, 0, 0x002
    a16 lodsd
    call dump
    ; 4. a16 repne scasb finds AL in the fourth element, past the wrap of DI.
    mov byte [gs:0x400001], 0x77
    SETUP 0x77, 0, 0x00010010, 0, 0x1234FFFE, 0x002
    a16 repne scasb
    call dump
    ; 5. a16 cmpsb downwards at SI = DI = 0xFFFF (source p(0xFFFF) - 0).
    SETUP 0, 0, 0, 0x0000FFFF, 0xFFFFFFFF, 0x402
    a16 cmpsb
    call dump
    ; 6. a16 loop three times: the count in CX, the upper half of ECX kept.
    SETUP 0, 0, 0xABCD0003, 0, 0, 0x002
.loop3:
    inc eax
    a16 loop .loop3
    call dump
    ; 7. a16 loop from CX = 0: 65,536 times.
    SETUP 0, 0, 0x00050000, 0, 0, 0x002
.loop64k:
    inc eax
    a16 loop .loop64k
    call dump
    ; 8. JCXZ jumps on CX = 0 although ECX is not zero; JECXZ does not.
    SETUP 0, 0, 0x00010000, 0, 0, 0x002
    jcxz .taken
    mov eax, 1
.taken:
    jecxz .taken32
    or eax, 2
.taken32:
    call dump
    ; 9. a16 loope: goes on while ZF = 1.
    SETUP 1, 0, 0x00010005, 0, 0, 0x002
.loope:
    inc eax
    cmp eax, 2
    a16 loope .loope
    call dump
    ; 10. a16 xlatb: DS:[BX + AL] with BX + AL wrapping (0xFFF0 + 0x20 = 0x10).
    SETUP 0xCCCCCC20, 0x1234FFF0, 0, 0, 0, 0x002
    a16 xlatb
    call dump
    ; 11. fs a16 xlatb without a wrap (0x1000 + 0xFF).
    SETUP 0x000000FF, 0xFFFF1000, 0, 0, 0, 0x002
    fs a16 xlatb
    call dump
    ; 12. a16 rep outsb: three bytes from SI = 0xFFFE to the console, then the dump.
    mov edx, 0xe9
    SETUP 0, 0, 0xFFFF0003, 0x0000FFFE, 0, 0x002
    a16 rep outsb
    call dump

    mov dx, 0xf4
    xor eax, eax
    out dx, eax
    hlt

; Write EAX EBX ECX ESI EDI, EFLAGS & 0x8D5 and three dwords of the ES
; window to the console, then clear those dwords.
dump:
    pushfd
    push edi
    push esi
    push ecx
    push ebx
    push eax
    mov ecx, 5
.registers:
    pop eax
    call out32
    loop .registers
    pop eax
    and eax, 0x8d5
    call out32
    mov eax, [gs:0x40fffc]
    call out32
    mov eax, [gs:0x400000]
    call out32
    mov eax, [gs:0x410000]
    call out32
    mov dword [gs:0x40fffc], 0
    mov dword [gs:0x400000], 0
    mov dword [gs:0x410000], 0
    ret

out32:                            ; EAX, little-endian, to port 0xE9
    push edx
    mov dx, 0xe9
    out dx, al
    shr eax, 8
    out dx, al
    shr eax, 8
    out dx, al
    shr eax, 8
    out dx, al
    pop edx
    ret

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF         ; flat code
    dq 0x00CF92000000FFFF         ; flat data
    dq 0x000F92300000FFFF         ; data, base 0x300000, limit 0xFFFFF bytes
    dq 0x000F92400000FFFF         ; data, base 0x400000, limit 0xFFFFF bytes
gdtr:
    dw gdtr - gdt - 1
    dd gdt
image_end:
