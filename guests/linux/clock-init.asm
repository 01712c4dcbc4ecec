; clock-init: a second /init for the committed kernel, to show that an initrd
; given with --initrd replaces the built-in one's /init, and that the kernel
; takes its wall clock from the CMOS RTC (IO.RTC.1, `run --rtc`).
;
; It prints "clock-init: time = XXXXXXXX" (the seconds since 1970 that
; time(2) returns, in hex), then asks for port 0xF4 with ioperm(2) and writes
; 0x2A there, so the run ends with exit code (0x2A << 1) | 1 = 85.
; Built by our own assembler as an i386 ELF executable; test/guests-linux-
; initrd.test.ts packs it into a cpio archive as /init and boots it.
;     mesovirt asm guests/linux/clock-init.asm -o clock-init

bits 32
org 0x08048000                  ; the traditional i386 executable address

SYS_write  equ 4
SYS_time   equ 13
SYS_ioperm equ 101
EXIT_PORT  equ 0xF4
STATUS     equ 0x2A

section .text
global _start
_start:
    mov eax, SYS_time
    xor ebx, ebx                ; no pointer: the result comes back in EAX
    int 0x80
    mov edi, digits + 7         ; write EAX as 8 hex digits, lowest last
    mov ecx, 8
.digit:
    mov edx, eax
    and edx, 0xF
    mov dl, [hex + edx]
    mov [edi], dl
    dec edi
    shr eax, 4
    loop .digit

    mov eax, SYS_write
    mov ebx, 1                  ; stdout: the kernel opened /dev/console for init
    mov ecx, message
    mov edx, message_length
    int 0x80

    mov eax, SYS_ioperm
    mov ebx, EXIT_PORT
    mov ecx, 1
    mov edx, 1
    int 0x80
    mov al, STATUS
    out EXIT_PORT, al
.forever:                       ; not reached on a machine with the exit port
    jmp .forever

section .data                   ; writable: the digits are filled in above
hex:     db "0123456789abcdef"
message: db "clock-init: time = "
digits:  db "00000000", 10
message_length equ $ - message
