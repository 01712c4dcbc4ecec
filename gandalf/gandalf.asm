; gandalf.asm -- the Gandalf monitor as real IA-32 code.
;
; It boots as a Multiboot kernel, takes its guest as the first Multiboot
; module, maps itself at linear 0xFC000000 and up, and runs the guest's
; kernel in ring 1 under the rules of spec/vmm.md: checked and truncated
; descriptors, direct gates for the guest's interrupts and system calls,
; trap-and-emulate of its privileged instructions, single-shadow paging.
; It refines the abstract monitor model/vmm (spec/gandalf.md, VMM.REFINE).
;
; Build:  nasm -f bin -o gandalf.bin gandalf.asm
;         npx mesovirt asm --format bin -o gandalf.bin gandalf/gandalf.asm
;         (-D MEMORY_MULTI: shadow-multi paging; -D GUEST=path: a guest built in)
; Run:    npx mesovirt run gandalf.bin --module teach-meso.bin
;         qemu-system-i386 -kernel gandalf.bin -initrd teach-meso.bin ...
; Read the files in the order of README.md.

bits 32
org 0xFC100000                      ; = M2L + LOAD_ADDR (org must be a number)

%include "config.inc"               ; constants and the memory map
%include "header.inc"               ; the Multiboot header
%include "data.inc"                 ; the monitor's variables
%include "boot.inc"                 ; page tables, real tables, the guest, its entry
%include "console.inc"              ; messages, and stopping the guest
%include "exits.inc"                ; entry stubs, classification of exits, the return
%include "guest-memory.inc"         ; the guest's paging walked in software
%include "decode.inc"               ; fetching and decoding the trapped instruction
%include "emulate.inc"              ; the privileged instructions
%include "descriptors.inc"          ; descriptor checks, LGDT/LLDT/LTR/LIDT, direct gates
%include "reflect.inc"              ; events delivered through the guest's IDT
%include "shadow.inc"               ; single-shadow paging
%ifdef MEMORY_MULTI
%include "shadow-multi.inc"         ; multiple-shadow paging (-DMEMORY_MULTI)
%endif
%ifdef MEMORY_DIRECT
%include "direct.inc"               ; direct paging (-DMEMORY_DIRECT)
%endif
%ifdef PARA
%include "para.inc"                 ; the para-virtual interface (-DPARA)
%endif
%ifdef WORLDS
%include "worlds.inc"               ; several guests and world switches (-DWORLDS)
%endif
%ifdef GUEST
; [GANDALF.GUEST.1] -DGUEST=path: the guest's image built in, for loaders
; that pass no module (Bochs's floppy loader).  A module, if given, wins.
%defstr GUEST_FILE GUEST
align 16, db 0
embedded_guest: incbin GUEST_FILE
embedded_guest_end:
%endif
image_end:
boot_stack:     times 1024 db 0     ; the stack until the monitor's own is built
boot_stack_top:
bss_end:
