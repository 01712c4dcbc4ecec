; rtos -- a small RTOS-like guest: three periodic tasks driven by the timer,
; no paging, no processes, no user mode. It is the second guest that runs
; beside the teaching kernel under the monitor (spec/memory.md, MEM.GUESTS).
;
; One source, two builds (flat Multiboot image, a.out kludge):
;     mesovirt asm guests/rtos/rtos.asm -o rtos.bin --format bin            native, ring 0
;     mesovirt asm guests/rtos/rtos.asm -o rtos-meso.bin --format bin -D MESO   ring 1, under the monitor
;
; Every tick (IRQ 0, vector 0x20) the interrupt handler counts; the main loop
; sleeps with HLT and, when it wakes, runs every task whose release time has
; come: task A every 2 ticks, B every 3, C every 5. After LAST_TICK ticks it
; prints a summary and stops the machine through the exit port.

bits 32
org 0x100000

%ifdef MESO
KRING       equ 1                   ; [meso] the kernel runs in ring 1
SEG_LIMIT   equ 0xFBFFF             ; [meso] segments end below the monitor (0xFC000000)
%else
KRING       equ 0
SEG_LIMIT   equ 0xFFFFF
%endif
KERNEL_CS   equ 0x08 + KRING
KERNEL_DS   equ 0x10 + KRING
DEBUG_PORT  equ 0xE9
EXIT_PORT   equ 0xF4
TIMER_VEC   equ 0x20
%ifndef TICK                        ; -DTICK=n: a longer tick, for a monitor whose exits
TICK        equ 4000                ; PIT reload: instructions between ticks
%endif                              ; cost real instructions (gandalf/README.md)
LAST_TICK   equ 15
IDT_ADDR    equ 0x00108000

MB_MAGIC    equ 0x1BADB002
MB_FLAGS    equ 1 << 16             ; the address fields below are valid
multiboot_header:
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)
    dd multiboot_header             ; header_addr
    dd $$                           ; load_addr
    dd image_end                    ; load_end_addr
    dd bss_end                      ; bss_end_addr
    dd _start                       ; entry_addr

_start:
    mov esp, stack_top
    lgdt [gdt_pointer]              ; [meso] traps; the monitor checks and copies it
    jmp KERNEL_CS:.reload
.reload:
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    mov ss, ax
    ; One IDT entry: the timer, an interrupt gate into timer_handler.
    mov eax, timer_handler
    mov word [IDT_ADDR + 8 * TIMER_VEC], ax
    mov word [IDT_ADDR + 8 * TIMER_VEC + 2], KERNEL_CS
    mov word [IDT_ADDR + 8 * TIMER_VEC + 4], 0x8E00   ; present, DPL 0, 32-bit interrupt gate
    shr eax, 16
    mov word [IDT_ADDR + 8 * TIMER_VEC + 6], ax
    lidt [idt_pointer]
    ; Remap the PIC: master at 0x20, slave at 0x28; only IRQ 0 unmasked.
    mov al, 0x11
    out 0x20, al
    out 0xA0, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x28
    out 0xA1, al
    mov al, 4
    out 0x21, al
    mov al, 2
    out 0xA1, al
    mov al, 1
    out 0x21, al
    out 0xA1, al
    mov al, 0xFE
    out 0x21, al
    mov al, 0xFF
    out 0xA1, al
    ; The PIT, channel 0, mode 2 (periodic), low then high byte.
    mov al, 0x34
    out 0x43, al
    mov al, TICK & 0xFF
    out 0x40, al
    mov al, TICK >> 8
    out 0x40, al
    mov esi, banner
    call print
    sti

; The scheduler: sleep until a tick, then release every task that is due.
idle:
    hlt
    mov ebx, tasks
.task:
    mov eax, [ticks]
    cmp eax, [ebx + 4]              ; release time reached?
    jb .next
    mov ecx, [ebx]                  ; period
    add [ebx + 4], ecx
    inc dword [ebx + 8]             ; runs
    call run_task
.next:
    add ebx, 12
    cmp ebx, tasks_end
    jb .task
    cmp dword [ticks], LAST_TICK
    jb idle
    cli
    mov esi, done
    call print
    mov al, 0
    out EXIT_PORT, al
    hlt

; run_task: EBX = the task's entry; prints "[rtos] task X run N at tick T".
run_task:
    mov esi, task_prefix
    call print
    mov eax, ebx
    sub eax, tasks
    xor edx, edx
    mov ecx, 12
    div ecx
    add al, 'A'
    out DEBUG_PORT, al
    mov esi, run_word
    call print
    mov eax, [ebx + 8]
    call print_number
    mov esi, at_word
    call print
    mov eax, [ticks]
    call print_number
    mov al, 10
    out DEBUG_PORT, al
    ret

; print: the zero-terminated string at ESI.
print:
    lodsb
    test al, al
    jz .end
    out DEBUG_PORT, al
    jmp print
.end:
    ret

; print_number: EAX in decimal (at most 10 digits).
print_number:
    mov ecx, 10
    xor edi, edi
.divide:
    xor edx, edx
    div ecx
    push edx
    inc edi
    test eax, eax
    jnz .divide
.out:
    pop eax
    add al, '0'
    out DEBUG_PORT, al
    dec edi
    jnz .out
    ret

timer_handler:
    push eax
    inc dword [ticks]
    mov al, 0x20                    ; end of interrupt
    out 0x20, al
    pop eax
%ifdef MESO
    ; [meso] IRET at CPL 1 with IOPL 0 leaves IF as it is (cleared by the
    ; gate); STI's one-instruction shadow lets the IRET run first.
    sti
%endif
    iret

gdt:
    dq 0
    dw SEG_LIMIT & 0xFFFF, 0
    db 0, 0x9A | (KRING << 5), 0xC0 | (SEG_LIMIT >> 16), 0
    dw SEG_LIMIT & 0xFFFF, 0
    db 0, 0x92 | (KRING << 5), 0xC0 | (SEG_LIMIT >> 16), 0
gdt_end:
gdt_pointer:
    dw gdt_end - gdt - 1
    dd gdt
idt_pointer:
    dw 256 * 8 - 1
    dd IDT_ADDR

; Task table: period, next release tick, runs.
tasks:
    dd 2, 2, 0
    dd 3, 3, 0
    dd 5, 5, 0
tasks_end:
ticks:  dd 0
banner:      db "[rtos] up: tasks A/2 B/3 C/5", 10, 0
task_prefix: db "[rtos] task ", 0
run_word:    db " run ", 0
at_word:     db " at tick ", 0
done:        db "[rtos] done", 10, 0
image_end:
    times 4096 db 0
stack_top:
bss_end:
