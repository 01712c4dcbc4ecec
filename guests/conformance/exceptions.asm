; exceptions.asm -- exceptions: vectors and saved EIPs, error codes (with
; the EXT and IDT bits), which check wins when two conditions hold, and the
; double fault.
;
; 1. "exc CPL NAME": #DE, #UD, #BR, INTO with OF, INT3, and INT n for a
;    present DPL 0 gate (5), a not-present DPL 3 gate (0x20), a not-present
;    DPL 0 gate (0x21: the DPL check comes first, #GP, at CPL > 0), and a
;    vector past the IDT limit (0x50), at CPL 0, 1, 3.
; 2. "stack HOW SS1": a switch to ring 1 with a bad SS1 in the TSS, by a
;    CALL through a call gate, by INT n, and by an exception (#UD whose gate
;    leads to ring 1; the error code then has EXT set), from ring 3. SS1 is
;    null, has RPL 3, DPL 3, is code, is not present (#SS), is past the GDT
;    limit, or is good (the ring-1 handler then reports a = CS << 16 | SS,
;    c = ESP, d = the word on top of its stack). Also a target CS that is
;    not present (#NP with EXT for the exception), and the #UD gate missing.
; 3. "df CPL FIRST": a fault whose delivery faults: a contributory fault
;    (#GP, #DE, #NP) whose gate is not present raises #NP during delivery, and
;    the two make a double fault (#DF, error code 0); a benign one (#UD) or
;    a software INT3 (no EXT bit) with its gate not present gets the #NP
;    delivered as usual.
;    Only the vector and error code of #DF are printed: the saved CS:EIP of a
;    double fault is undefined (SDM Vol. 3A 6.15, interrupt 8).
; 4. "step CPL NAME": the single-step trap (TF), section 4 below.
%define HIDE_AF_OF                     ; bodies end on shifts and logic ops (harness.inc)
%include "harness.inc"

CALLGATE equ SCRATCH                    ; call gate (DPL 3) to ring 1
NPCODE   equ SCRATCH2                   ; code, DPL 1, not present
NPDATA1  equ SCRATCH3                   ; writable data, DPL 1, not present
NPDATA3  equ SCRATCH4                   ; writable data, DPL 3, not present
TEST_VECTOR equ 0x31

cpls: dd 0, 1, 3
i_cpl: dd 0
i_item: dd 0
i_how: dd 0
msg_exc: db "exc ", 0
msg_df: db "df ", 0
msg_stack: db "stack ", 0

print_digit:
    add al, '0'
    jmp print_char

print_cpl_prefix:                       ; esi = prefix
    call print_string
    mov eax, [i_cpl]
    mov eax, [cpls + eax * 4]
    call print_digit
    jmp print_space

; ---- 1. single exceptions ------------------------------------------------------------
bound_pair: dd 0, 10
singles: dd div_zero, ud2_op, bound_op, into_op, int3_op, int5_op, int20_op, int21_op, int50_op
singles_end:
single_names:
    db "de", 0, 0, 0, 0, 0, 0, "ud", 0, 0, 0, 0, 0, 0, "br", 0, 0, 0, 0, 0, 0
    db "into", 0, 0, 0, 0, "int3", 0, 0, 0, 0, "int 05", 0, 0
    db "int 20", 0, 0, "int 21", 0, 0, "int 50", 0, 0

single_name:
    mov esi, msg_exc
    call print_cpl_prefix
    mov eax, [i_item]
    lea esi, [single_names + eax * 8]
    jmp print_string

div_zero:
    mov eax, 7
    sub edx, edx
    sub ecx, ecx
    div ecx
    ret
ud2_op:
    ud2
    ret
bound_op:
    mov eax, 11
    bound eax, [bound_pair]
    ret
into_op:
    mov eax, 0x7FFFFFFF
    add eax, 1                          ; OF = 1
    into
    ret
int3_op:
    int3
    ret
int5_op:
    int 0x05
    ret
int20_op:
    int 0x20
    ret
int21_op:
    int 0x21
    ret
int50_op:
    int 0x50
    ret

single_tests:
    mov dword [i_cpl], 0
.cpl:
    mov dword [i_item], 0
.item:
    mov eax, [i_cpl]
    mov eax, [cpls + eax * 4]
    mov [test_ring], eax
    mov dword [name_printer], single_name
    sub esi, esi
    mov eax, [i_item]
    mov ebx, [singles + eax * 4]
    call run_test
    inc dword [i_item]
    cmp dword [i_item], (singles_end - singles) / 4
    jb .item
    inc dword [i_cpl]
    cmp dword [i_cpl], 3
    jb .cpl
    ret

; ---- 2. stack switches to ring 1 with a bad SS1 ---------------------------------------
ss1_values: dd 0, DATA1 | 3, DATA3 | 1, CODE1 | 1, NPDATA1 | 1, GDT_ENTRIES * 8 + 1, DATA1 | 1
ss1_names: db "null", 0, 0, 0, 0, "rpl3", 0, 0, 0, 0, "dpl3", 0, 0, 0, 0, "code", 0, 0, 0, 0
           db "np", 0, 0, 0, 0, 0, 0, "past", 0, 0, 0, 0, "good", 0, 0, 0, 0
how_names: db "call", 0, 0, 0, 0, "int", 0, 0, 0, 0, 0, "exc", 0, 0, 0, 0, 0
how_bodies: dd call_ring1, int_ring1, exc_ring1

stack_name:
    mov esi, msg_stack
    call print_string
    mov eax, [i_how]
    lea esi, [how_names + eax * 8]
    call print_string
    call print_space
    mov eax, [i_item]
    lea esi, [ss1_names + eax * 8]
    jmp print_string

gate_far: dd 0, CALLGATE | 3
call_ring1:
    call far [gate_far]
    ret
int_ring1:
    int TEST_VECTOR
    ret
exc_ring1:
    ud2
    ret

; At ring 1: report and go straight back to the harness through gate 0x30.
ring1_handler:
    mov ax, cs
    shl eax, 16
    mov ax, ss
    mov ecx, esp
    mov edx, [esp]
    int 0x30

; gate_to: ebx = vector, eax = offset, edx = selector, ecx = type word
gate_to:
    push edi
    lea edi, [IDT_ADDR + ebx * 8]
    mov [edi], ax
    mov [edi + 2], dx
    mov [edi + 4], cx
    push eax
    shr eax, 16
    mov [edi + 6], ax
    pop eax
    pop edi
    ret

restore_gates:
    mov dword [TSS_ADDR + 16], DATA1 | 1
    mov ebx, 6
    mov eax, stub_6
    mov ecx, 0x8E00
    call set_gate
    mov ebx, 13
    mov eax, stub_13
    call set_gate
    mov ebx, 0
    mov eax, stub_0
    call set_gate
    mov ebx, 11
    mov eax, stub_11
    call set_gate
    mov ebx, 3
    mov eax, stub_3
    call set_gate
    mov ebx, TEST_VECTOR
    sub ecx, ecx                        ; not present
    call set_gate
    ret

; the ring-1 entry for this test: gate 0x31 (INT n) or gate 6 (#UD)
point_gates_to: dd CODE1
stack_setup:
    mov ebx, TEST_VECTOR
    mov eax, ring1_handler
    mov edx, [point_gates_to]
    mov ecx, 0xEE00                     ; present, DPL 3, interrupt gate
    call gate_to
    mov ebx, 6
    mov ecx, 0x8E00
    call gate_to
    ret

stack_tests:
    mov dword [after_test], restore_gates
    mov dword [i_how], 0
.how:
    mov dword [i_item], 0
.item:
    mov dword [point_gates_to], CODE1
    call stack_setup
    mov eax, [i_item]
    mov eax, [ss1_values + eax * 4]
    mov [TSS_ADDR + 16], eax
    mov dword [test_ring], 3
    mov dword [name_printer], stack_name
    sub esi, esi
    mov eax, [i_how]
    mov ebx, [how_bodies + eax * 4]
    call run_test
    inc dword [i_item]
    cmp dword [i_item], 7
    jb .item
    inc dword [i_how]
    cmp dword [i_how], 3
    jb .how
    ; a target CS that is not present, by each way
    mov dword [i_how], 0
.np:
    mov dword [point_gates_to], NPCODE
    call stack_setup
    mov edi, CALLGATE
    mov eax, ring1_handler
    mov edx, NPCODE
    mov ecx, 0xEC
    call write_gate
    mov dword [test_ring], 3
    mov dword [name_printer], np_name
    sub esi, esi
    mov eax, [i_how]
    mov ebx, [how_bodies + eax * 4]
    call run_test
    inc dword [i_how]
    cmp dword [i_how], 3
    jb .np
    mov edi, CALLGATE
    mov eax, ring1_handler
    mov edx, CODE1
    mov ecx, 0xEC
    call write_gate
    ; the #UD gate not present: #NP(6 * 8 + IDT + EXT), delivered as usual
    mov ebx, 6
    mov ecx, 0x0E00
    call set_gate
    mov dword [test_ring], 3
    TEST "stack exc gate np", exc_ring1
    mov dword [after_test], no_cleanup
    ret

msg_np_target: db " tnp", 0
np_name:
    mov esi, msg_stack
    call print_string
    mov eax, [i_how]
    lea esi, [how_names + eax * 8]
    call print_string
    mov esi, msg_np_target
    jmp print_string

; write_gate: edi = slot, eax = offset, edx = selector, ecx = access byte
write_gate:
    push edi
    and edi, 0xFFF8
    add edi, gdt
    mov [edi], ax
    mov [edi + 2], dx
    mov byte [edi + 4], 0
    mov [edi + 5], cl
    push eax
    shr eax, 16
    mov [edi + 6], ax
    pop eax
    pop edi
    ret

; ---- 3. double faults ------------------------------------------------------------------
; The #DF handler: vector and error code only.
msg_df_line: db ": #08 e=", 0
df_handler:
    mov ax, DATA0
    mov ds, ax
    mov es, ax
    call print_name
    mov esi, msg_df_line
    call print_string
    mov eax, [esp]
    call print_hex16
    call print_newline
    jmp test_resume

firsts: dd gp_first, de_first, np_first, ud_first, bp_first
first_gates: dd 13, 0, 11, 6, 3
first_names: db "gp", 0, 0, "de", 0, 0, "np", 0, 0, "ud", 0, 0, "bp", 0, 0

df_name:
    mov esi, msg_df
    call print_cpl_prefix
    mov eax, [i_item]
    lea esi, [first_names + eax * 4]
    jmp print_string

gp_first:
    mov ax, GDT_ENTRIES * 8 + 3         ; past the GDT limit: #GP
    mov ds, ax
    ret
de_first:
    jmp div_zero
np_first:
    mov ax, NPDATA3 | 3                 ; allowed at every CPL, not present: #NP
    mov ds, ax
    ret
ud_first:
    ud2
    ret
bp_first:
    int3
    ret

df_tests:
    mov dword [after_test], restore_gates
    mov dword [i_cpl], 0
.cpl:
    mov dword [i_item], 0
.item:
    mov eax, [i_item]
    mov ebx, [first_gates + eax * 4]
    mov ecx, 0x0E00                     ; the first fault's gate: not present (DPL 0)
    call set_gate
    cmp ebx, 3
    jne .ring
    cmp dword [i_cpl], 0
    je .ring
    mov ecx, 0x6E00                     ; INT3 from an outer ring needs DPL 3
    call set_gate
.ring:
    mov eax, [i_cpl]
    mov eax, [cpls + eax * 4]
    mov [test_ring], eax
    mov dword [name_printer], df_name
    sub esi, esi
    mov eax, [i_item]
    mov ebx, [firsts + eax * 4]
    call run_test
    inc dword [i_item]
    cmp dword [i_item], 5
    jb .item
    inc dword [i_cpl]
    cmp dword [i_cpl], 3
    jb .cpl
    mov dword [after_test], no_cleanup
    ret

tests:
    mov ebx, 0x20                       ; not present, DPL 3
    mov ecx, 0x6E00
    call set_gate
    mov ebx, 0x21                       ; not present, DPL 0
    mov ecx, 0x0E00
    call set_gate
    mov ebx, 8
    mov eax, df_handler
    mov ecx, 0x8E00
    call set_gate
    mov edi, CALLGATE
    mov eax, ring1_handler
    mov edx, CODE1
    mov ecx, 0xEC                       ; present, DPL 3, 32-bit call gate, no parameters
    call write_gate
    mov edi, NPCODE
    sub eax, eax
    mov edx, 0xFFFFF
    mov ecx, 0x3A | 0xC000              ; code, readable, DPL 1, not present
    call write_descriptor
    mov edi, NPDATA1
    mov ecx, 0x32 | 0xC000              ; writable data, DPL 1, not present
    call write_descriptor
    mov edi, NPDATA3
    mov ecx, 0x72 | 0xC000              ; writable data, DPL 3, not present
    call write_descriptor
    call single_tests
    call stack_tests
    call df_tests
    call step_tests
    ret

; ---- 4. the single-step trap (EXC.STEP.*) ---------------------------------------------
; "step CPL NAME": each body sets TF with POPF (at its own ring) and the
; harness prints the #DB (vector 1, the saved EIP of the next instruction,
; TF in the saved EFLAGS) or the event that came instead: the POPF that sets
; TF takes no trap (the INC after it does); a taken JMP traps with its
; target; an IRET with TF in its frame takes no trap, the instruction it
; returns to does; the POPF that clears TF traps, with TF clear in the frame;
; a fault (UD2) is delivered with no #DB before it; INT 0x30 (the harness's
; DPL-3 gate back) is delivered with no #DB first, TF in its frame.
step_names:
    db "popf", 0, 0, 0, 0, "jmp", 0, 0, 0, 0, 0, "iret", 0, 0, 0, 0
    db "clear", 0, 0, 0, "ud2", 0, 0, 0, 0, 0, "int", 0, 0, 0, 0, 0
steps: dd step_popf, step_jmp, step_iret, step_clear, step_ud, step_int
steps_end:
msg_step: db "step ", 0

%macro set_tf 0
    pushfd
    or dword [esp], 0x100
    popfd
%endmacro

step_popf:
    set_tf
    inc eax                             ; the trap: ip = the NOP
    nop
    ret
step_jmp:
    set_tf
    jmp short .there                    ; the trap: ip = .there
    nop
.there:
    nop
    ret
step_iret:
    pushfd
    or dword [esp], 0x100
    push cs
    push dword .there
    iretd                               ; TF was clear when it started: no trap
.there:
    nop                                 ; the trap: ip = the RET
    ret
step_clear:
    pushfd                              ; TF clear
    pushfd
    or dword [esp], 0x100
    popfd                               ; TF set
    popfd                               ; TF clear again: still a trap, f without TF
    nop
    ret
step_ud:
    set_tf
    ud2                                 ; #UD, no #DB before it
    ret
step_int:
    set_tf
    int 0x30                            ; back to the harness: ok, f with TF
    ret

step_name:
    mov esi, msg_step
    call print_cpl_prefix
    mov eax, [i_item]
    lea esi, [step_names + eax * 8]
    jmp print_string

step_tests:
    mov dword [i_cpl], 0
.cpl:
    mov dword [i_item], 0
.item:
    mov eax, [i_cpl]
    mov eax, [cpls + eax * 4]
    mov [test_ring], eax
    mov dword [name_printer], step_name
    sub esi, esi
    mov eax, [i_item]
    mov ebx, [steps + eax * 4]
    call run_test
    inc dword [i_item]
    cmp dword [i_item], (steps_end - steps) / 4
    jb .item
    inc dword [i_cpl]
    cmp dword [i_cpl], 3
    jb .cpl
    ret

%include "harness-end.inc"
