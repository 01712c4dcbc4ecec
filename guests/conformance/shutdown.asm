; shutdown.asm -- the triple fault, alone and last: it ends the machine.
;
; With an IDT limit of 0, INT3 cannot find its gate (#GP), nor can that
; #GP (the two contributory faults make #DF), nor the #DF: the processor
; enters shutdown (SDM Vol. 3A 6.15, interrupt 8: a fault while invoking
; the double-fault handler). The kernel prints its last line first; the
; runner then expects the machine to stop: mesovirt's 'shutdown' event,
; QEMU exiting on the reset it would do (-no-reboot), Bochs stopping on
; "triple fault" (reset_on_triple_fault=0).
%include "harness.inc"

empty_idt:
    dw 0
    dd IDT_ADDR

nop_body:
    mov eax, 0x600D
    sub ecx, ecx
    sub edx, edx
    ret

msg_last: db "shutdown: empty IDT, INT3 next", 10, 0

tests:
    TEST "shutdown: a test before", nop_body
    mov esi, msg_last
    call print_string
    lidt [empty_idt]
    int3
    ; not reached: the harness would print "end"
    ret

%include "harness-end.inc"
