; teach.asm -- a teaching kernel for IA-32, small enough to read in an evening.
;
; Build:  nasm -f bin -o teach.bin teach.asm            (native, ring 0)
;         nasm -f bin -DMESO -o teach-meso.bin teach.asm (meso, ring 1)
; Run:    qemu-system-i386 -kernel teach.bin -display none -serial none \
;           -monitor none -debugcon stdio \
;           -device isa-debug-exit,iobase=0xf4,iosize=4
;
; Four ring-3 processes share the CPU under a round-robin scheduler driven by
; the PIT timer and by the yield system call; they print through system calls
; to the debug console, and the kernel exits through port 0xF4 once all have
; exited.  Read the files in the order of README.md.

bits 32
org 0x100000                        ; = KERNEL_BASE (org must be a number)

%ifdef PARA
%include "para/para.inc"            ; [para] hypercalls (spec/para.md)
%endif
%include "config.inc"               ; constants and the memory map
%include "boot.inc"                 ; Multiboot header, entry, kernel_main
%include "console.inc"              ; output on port 0xE9
%include "descriptors.inc"          ; GDT, TSS and IDT
%include "interrupts.inc"           ; entry stubs, the common path, PIC, PIT
%include "paging.inc"               ; frames, address spaces, page faults
%include "scheduler.inc"            ; processes and round robin
%include "syscalls.inc"             ; the int 0x80 interface
%ifdef PARA
%include "para/para-shared.inc"     ; [para] the shared page
%endif
%ifdef LMBENCH
%include "lmbench/kernel.inc"       ; spawn and unmap, for the microbenchmarks
%include "lmbench/user.inc"         ; the microbenchmarks instead of the programs
%else
%include "user.inc"                 ; the user programs (page-aligned, last)
%endif
image_end:
