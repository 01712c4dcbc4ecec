; hello: the smallest mesovirt guest. A Multiboot v1 kernel that prints
; "hello from mesovirt" on the debug console (port 0xE9), then asks the
; machine to stop by writing 0 to the exit port 0xF4 (QEMU's isa-debug-exit
; turns that into exit status 1). If nothing stops it, it halts forever.
;
; Build it as an ELF (the loader reads the program headers):
;     mesovirt asm guests/hello/hello.asm -o hello.elf
; or as a flat image, where the Multiboot header's a.out-kludge fields tell
; the loader where to put it:
;     mesovirt asm guests/hello/hello.asm -o hello.bin --format bin -D MULTIBOOT_AOUT_KLUDGE

bits 32
org 0x100000                    ; Multiboot loaders load at 1 MiB and above

MULTIBOOT_MAGIC     equ 0x1BADB002
MULTIBOOT_PAGE_ALIGN equ 1 << 0 ; modules on page boundaries
MULTIBOOT_MEMORY_INFO equ 1 << 1 ; pass a memory map
%ifdef MULTIBOOT_AOUT_KLUDGE
MULTIBOOT_FLAGS     equ MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO | (1 << 16)
%else
MULTIBOOT_FLAGS     equ MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO
%endif

DEBUG_CONSOLE       equ 0xE9
EXIT_PORT           equ 0xF4

section .text
global _start

multiboot_header:               ; must be in the first 8 KiB, 4-byte aligned
    dd MULTIBOOT_MAGIC
    dd MULTIBOOT_FLAGS
    dd -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)   ; the three sum to zero
%ifdef MULTIBOOT_AOUT_KLUDGE
    dd multiboot_header         ; header_addr: where this header is loaded
    dd $$                       ; load_addr: start of the image
    dd image_end                ; load_end_addr: end of the stored bytes
    dd bss_end                  ; bss_end_addr: the loader zeroes up to here
    dd _start                   ; entry_addr
%endif

_start:
    mov esp, stack_top
    mov esi, message
    mov dx, DEBUG_CONSOLE
.next:
    lodsb                       ; al = next character
    test al, al
    jz .done
    out dx, al
    jmp .next
.done:
    mov dx, EXIT_PORT
    xor eax, eax
    out dx, al                  ; isa-debug-exit: QEMU exits with (0 << 1) | 1
.halt:
    cli
    hlt
    jmp .halt

section .data
message: db "hello from mesovirt", 10, 0
image_end:

section .bss
    resb 4096
stack_top:
bss_end:
