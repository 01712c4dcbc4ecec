; QEMU and Bochs as oracles for the interrupt shadow (spec EXC.SHADOW.*):
; which instruction boundary an external interrupt or a single-step trap is
; taken at after STI, MOV SS and POP SS, alone and in pairs. A Multiboot
; kernel, flat ring 0. Each case prints a marker byte (0xC0 + case) and then,
; for every event, two bytes: the vector (0x01 for #DB, 0x20 for IRQ 0) and
; the pushed EIP minus the address of the case's first instruction.
; Interrupt cases: the PIT's IRQ 0 is made pending with IF = 0 (the IRR is
; polled), then the case runs with that request waiting; the handler masks
; IRQ 0 again, so each case takes exactly one interrupt. Single-step cases:
; TF is set by POPF just before the case's first instruction and cleared by
; the case's last POPF (which still traps). Built with nasm -f bin and with
; our assembler; run by test/cpu/interrupt-shadow.test.ts.
bits 32
org 0x100000

header:
    dd 0x1BADB002
    dd 0x00010000
    dd -(0x1BADB002 + 0x00010000)
    dd header, header, image_end, image_end, start

FLAT_CODE equ 0x08
FLAT_DATA equ 0x10

start:
    cli
    mov esp, 0x200000
    lgdt [gdtr]
    jmp FLAT_CODE:.reload
.reload:
    mov ax, FLAT_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    ; IDT: vector 1 (#DB) and vector 0x20 (IRQ 0 after the PIC is remapped).
    mov eax, debug_handler
    mov edi, idt + 1 * 8
    call set_gate
    mov eax, irq_handler
    mov edi, idt + 0x20 * 8
    call set_gate
    lidt [idtr]
    ; PICs: master at vectors 0x20.., slave at 0x28.., everything masked.
    mov al, 0x11
    out 0x20, al
    out 0xa0, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x28
    out 0xa1, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x02
    out 0xa1, al
    mov al, 0x01
    out 0x21, al
    out 0xa1, al
    mov al, 0xff
    out 0x21, al
    out 0xa1, al
    ; PIT channel 0, mode 2, reload 0x100.
    mov al, 0x34
    out 0x43, al
    xor al, al
    out 0x40, al
    mov al, 0x01
    out 0x40, al
    mov ax, FLAT_DATA

    ; 1. STI; INC; INC: the interrupt after the first INC (control).
    mov bl, 0xc1
    call pend
    mov dword [base], c1
c1: sti
    inc ecx
    inc ecx
    cli
    ; 2. STI; MOV SS; INC; INC: MOV SS runs in STI's shadow.
    mov bl, 0xc2
    call pend
    mov dword [base], c2
c2: sti
    mov ss, ax
    inc ecx
    inc ecx
    cli
    ; 3. STI; POP SS; INC; INC.
    mov bl, 0xc3
    call pend
    push dword FLAT_DATA
    mov dword [base], c3
c3: sti
    pop ss
    inc ecx
    inc ecx
    cli
    ; 4. MOV SS; STI; INC; INC: STI runs in MOV SS's shadow.
    mov bl, 0xc4
    call pend
    mov dword [base], c4
c4: mov ss, ax
    sti
    inc ecx
    inc ecx
    cli
    ; 5. STI; STI; INC: the second STI finds IF set.
    mov bl, 0xc5
    call pend
    mov dword [base], c5
c5: sti
    sti
    inc ecx
    inc ecx
    cli

    ; 6. TF: MOV SS; INC; INC.
    mov bl, 0xc6
    call mark
    mov dword [base], c6
    call tf_on
c6: mov ss, ax
    inc ecx
    inc ecx
    call tf_off
    ; 7. TF: POP SS; INC; INC.
    mov bl, 0xc7
    call mark
    mov dword [base], c7
    push dword FLAT_DATA
    call tf_on
c7: pop ss
    inc ecx
    inc ecx
    call tf_off
    ; 8. TF: MOV SS; MOV SS; INC; INC.
    mov bl, 0xc8
    call mark
    mov dword [base], c8
    call tf_on
c8: mov ss, ax
    mov ss, ax
    inc ecx
    inc ecx
    call tf_off
    ; 9. TF: STI; INC (STI found IF clear).
    mov bl, 0xc9
    call mark
    mov dword [base], c9
    call tf_on
c9: sti
    inc ecx
    cli
    call tf_off

    mov al, 0xcf
    out 0xe9, al
    mov dx, 0xf4
    xor eax, eax
    out dx, eax
    hlt

; The case marker BL to the console.
mark:
    push eax
    mov al, bl
    out 0xe9, al
    pop eax
    ret

; Print the marker BL, then make IRQ 0 pending with IF = 0: unmask it and
; poll the master's IRR until its bit 0 is set.
pend:
    call mark
    push eax
    mov al, 0xfe
    out 0x21, al
.wait:
    mov al, 0x0a
    out 0x20, al
    in al, 0x20
    test al, 1
    jz .wait
    pop eax
    ret

; Return with TF set: the trap comes after the caller's next instruction.
tf_on:
    pushfd
    or dword [esp], 0x100
    popfd
    ret
; Clear TF (this POPF still traps; its pushed EIP is past the case).
tf_off:
    pushfd
    and dword [esp], 0xfffffeff
    popfd
    ret

; An interrupt gate at EDI for the handler at EAX.
set_gate:
    mov edx, eax
    and eax, 0xffff
    or eax, FLAT_CODE << 16
    mov [edi], eax
    and edx, 0xffff0000
    or edx, 0x8e00
    mov [edi + 4], edx
    ret

; Print the vector AL and the pushed EIP minus [base], low byte.
report:
    out 0xe9, al
    mov eax, [esp + 8]
    sub eax, [base]
    out 0xe9, al
    ret

debug_handler:
    push eax
    mov al, 0x01
    call report
    pop eax
    iretd

irq_handler:
    push eax
    mov al, 0x20
    call report
    mov al, 0xff
    out 0x21, al
    mov al, 0x20
    out 0x20, al
    pop eax
    iretd

base: dd 0

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF         ; flat code
    dq 0x00CF92000000FFFF         ; flat data
gdtr:
    dw gdtr - gdt - 1
    dd gdt
idtr:
    dw 0x21 * 8 - 1
    dd idt
align 8
idt:
    times 0x21 * 8 db 0
image_end:
