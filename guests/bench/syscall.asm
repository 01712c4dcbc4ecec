; syscall.asm -- benchmark (c): system calls and page faults.
;
; A ring-3 program runs SYSCALL_ROUNDS rounds.  In each round it touches
; SYSCALL_PAGES pages of its data area; none is mapped, so each first touch
; takes a page fault, and the ring-0 handler maps the page (on demand) to its
; fixed frame.  After each touch the program makes a system call
; (`int 0x80`, function 1) that folds the value into a kernel checksum; at the
; end of the round a second system call (function 2) unmaps the whole area
; and reloads CR3, so the next round faults again.  The kernel prints
; "syscall " at boot (the start mark for outside timers); function 3 prints
; KSUM CALLS FAULTS USUM in hex and exits.
;
; So this measures privilege transitions (ring 3 -> 0 -> 3 through the TSS),
; exception delivery with an error code, CR2, page-table writes and TLB
; flushes: the paths a monitor lives on.
;
; Build: mesovirt asm --format bin -o syscall.bin guests/bench/syscall.asm
;        [-D SYSCALL_ROUNDS=n] [-D SYSCALL_PAGES=n]  (pages at most 1024)

org 0x100000
%include "common.inc"

%ifndef SYSCALL_ROUNDS
%define SYSCALL_ROUNDS 20000
%endif
%ifndef SYSCALL_PAGES
%define SYSCALL_PAGES 16
%endif

; ---- Memory map (physical = linear below 4 MiB) ---------------------------------
KERNEL_PT   equ 0x00110000          ; identity map of 0..4 MiB
USER_PT     equ 0x00111000          ; maps the user data area, filled on demand
PAGE_DIR    equ 0x00112000
IDT_ADDR    equ 0x00113000          ; 256 gates
TSS_ADDR    equ 0x00113800
KSTACK_TOP  equ 0x00118000          ; ring-0 stack (found through the TSS)
USTACK      equ 0x00118000          ; one user page for the ring-3 stack
USTACK_TOP  equ 0x00119000
BSS_END     equ 0x00119000
FRAMES      equ 0x00200000          ; page n of the data area lives at FRAMES + n*4096
USER_DATA   equ 0x00400000          ; the user data area (linear), 4..8 MiB

KERNEL_CS   equ 0x08
KERNEL_DS   equ 0x10
USER_CS     equ 0x18 | 3
USER_DS     equ 0x20 | 3
TSS_SEL     equ 0x28

PG_PRESENT  equ 1
PG_WRITE    equ 2
PG_USER     equ 4

start:
    cli
    mov esp, KSTACK_TOP
    mov esi, label                  ; the label first: its first byte marks the start
    call put_string                 ; for timers outside the machine (QEMU)

; ---- Segments: flat kernel and user code and data, and the TSS. ------------------
    lgdt [gdt_pointer]
    jmp KERNEL_CS:.reload
.reload:
    ; The data segments are the user's (DPL 3): ring 0 may use them too, and
    ; they stay valid when IRET returns to ring 3.
    mov ax, USER_DS
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ax, KERNEL_DS
    mov ss, ax
    mov dword [TSS_ADDR + 4], KSTACK_TOP    ; ESP0
    mov dword [TSS_ADDR + 8], KERNEL_DS     ; SS0
    mov word [TSS_ADDR + 102], 104          ; I/O bitmap beyond the limit: no ports for ring 3
    mov ax, TSS_SEL
    ltr ax

; ---- IDT: every exception stops the run; #PF and int 0x80 do the work. ----------
    xor ebx, ebx
.gate:
    mov eax, unexpected
    mov dl, 0x8E                    ; present, DPL 0, 32-bit interrupt gate
    call set_gate
    inc ebx
    cmp ebx, 32
    jb .gate
    mov ebx, 14
    mov eax, page_fault
    call set_gate
    mov ebx, 0x80
    mov eax, system_call
    mov dl, 0xEE                    ; present, DPL 3: `int 0x80` allowed in ring 3
    call set_gate
    lidt [idt_pointer]

; ---- Paging: 0..4 MiB identity-mapped (supervisor, except the user's code
; and stack pages), 4..8 MiB the user data area, empty at first. ----------------------
    xor ecx, ecx
.identity:
    mov eax, ecx
    shl eax, 12
    or eax, PG_PRESENT | PG_WRITE
    cmp eax, user_code
    jb .supervisor
    cmp eax, user_code_end
    jb .user_page
    cmp eax, USTACK
    jb .supervisor
    cmp eax, USTACK_TOP
    jae .supervisor
.user_page:
    or eax, PG_USER
.supervisor:
    mov [KERNEL_PT + ecx*4], eax
    inc ecx
    cmp ecx, 1024
    jb .identity
    mov dword [PAGE_DIR], KERNEL_PT | PG_PRESENT | PG_WRITE | PG_USER
    mov dword [PAGE_DIR + 4], USER_PT | PG_PRESENT | PG_WRITE | PG_USER
    ; The frames start zeroed (the machine's RAM need not be).
    mov edi, FRAMES
    mov ecx, SYSCALL_PAGES * 1024
.zero:
    mov dword [edi], 0
    add edi, 4
    dec ecx
    jnz .zero
    mov eax, PAGE_DIR
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000              ; PG
    mov cr0, eax

; ---- Enter ring 3 through IRET. -------------------------------------------------
    push USER_DS                    ; SS
    push USTACK_TOP                 ; ESP
    push 0x00000002                 ; EFLAGS: IF = 0, IOPL = 0
    push USER_CS                    ; CS
    push user_main                  ; EIP
    iretd

; set_gate: IDT entry EBX -> handler EAX in the kernel code segment, access byte DL.
set_gate:
    push eax
    mov [IDT_ADDR + ebx*8], ax      ; offset 15..0
    mov word [IDT_ADDR + ebx*8 + 2], KERNEL_CS
    mov byte [IDT_ADDR + ebx*8 + 4], 0
    mov [IDT_ADDR + ebx*8 + 5], dl  ; present, DPL, type
    shr eax, 16
    mov [IDT_ADDR + ebx*8 + 6], ax  ; offset 31..16
    pop eax
    ret

; ---- #PF: map the faulting data page to its frame. ------------------------------
; The CPU pushed an error code; CR2 holds the linear address.
page_fault:
    push eax
    push ebx
    mov eax, cr2
    sub eax, USER_DATA
    cmp eax, SYSCALL_PAGES * 4096
    jae unexpected                  ; outside the data area: a bug
    shr eax, 12                     ; the page number
    mov ebx, eax
    shl ebx, 12
    add ebx, FRAMES | PG_PRESENT | PG_WRITE | PG_USER
    mov [USER_PT + eax*4], ebx
    inc dword [fault_count]
    pop ebx
    pop eax
    add esp, 4                      ; drop the error code
    iretd

; ---- int 0x80: EAX = function, EBX = argument; the result in EAX. ----------------
system_call:
    inc dword [call_count]
    cmp eax, 1
    je .fold
    cmp eax, 2
    je .unmap
    cmp eax, 3
    je .finish
    mov eax, -1
    iretd
.fold:                              ; 1: ksum = rol(ksum, 5) ^ EBX, returned
    mov eax, [kernel_sum]
    rol eax, 5
    xor eax, ebx
    mov [kernel_sum], eax
    iretd
.unmap:                             ; 2: clear the data area's entries, flush the TLB
    push ecx
    xor ecx, ecx
.clear:
    mov dword [USER_PT + ecx*4], 0
    inc ecx
    cmp ecx, SYSCALL_PAGES
    jb .clear
    pop ecx
    mov eax, cr3
    mov cr3, eax
    xor eax, eax
    iretd
.finish:                            ; 3: print the figures and stop (EBX = the user's sum)
    mov eax, [kernel_sum]
    call put_hex
    call put_space
    mov eax, [call_count]
    call put_hex
    call put_space
    mov eax, [fault_count]
    call put_hex
    call put_space
    mov eax, ebx
    call put_hex
    call put_newline
    jmp exit

unexpected:
    mov esi, unexpected_message
    call put_string
    jmp exit

gdt:
    dq 0
    dq 0x00CF9A000000FFFF           ; 0x08: ring-0 code, flat 4 GiB
    dq 0x00CF92000000FFFF           ; 0x10: ring-0 data
    dq 0x00CFFA000000FFFF           ; 0x18: ring-3 code
    dq 0x00CFF2000000FFFF           ; 0x20: ring-3 data
    dw 103                          ; 0x28: 32-bit TSS, available, limit 103
    dw TSS_ADDR & 0xFFFF
    db (TSS_ADDR >> 16) & 0xFF
    db 0x89
    db 0
    db TSS_ADDR >> 24
gdt_end:
gdt_pointer:
    dw gdt_end - gdt - 1
    dd gdt
idt_pointer:
    dw 256 * 8 - 1
    dd IDT_ADDR

kernel_sum:  dd 0
call_count:  dd 0
fault_count: dd 0
label:       db "syscall ", 0
unexpected_message: db "syscall: unexpected exception", 10, 0

; ---- The user program (ring 3), on pages of its own. ---------------------------
align 4096
user_code:
user_main:
    mov esi, SYSCALL_ROUNDS         ; rounds left
    xor edi, edi                    ; the user's own checksum
.round:
    xor ecx, ecx                    ; page number
.page:
    mov edx, ecx
    shl edx, 12
    add edx, USER_DATA
    mov eax, [edx]                  ; first touch this round: a page fault
    add eax, esi
    add eax, ecx
    mov [edx], eax
    add edi, eax
    rol edi, 1
    mov ebx, eax
    mov eax, 1                      ; fold EBX into the kernel checksum
    int 0x80
    inc ecx
    cmp ecx, SYSCALL_PAGES
    jb .page
    mov eax, 2                      ; unmap the data area
    int 0x80
    dec esi
    jnz .round
    mov ebx, edi
    mov eax, 3                      ; print and exit
    int 0x80
    jmp $
align 4096
user_code_end:
image_end:
