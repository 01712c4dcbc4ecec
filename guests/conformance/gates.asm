; gates.asm -- far transfers through call gates, returns to outer rings,
; and interrupt versus trap gates.
;
; 1. CALL and JMP through a call gate (32-bit, 2 parameters) at CPL 0/1/3,
;    for a gate of DPL 0/1/3 (and one of DPL 3 that is not present), a gate
;    selector with RPL 0 or 3, and a target code segment of DPL 0, 1, 3,
;    conforming DPL 0, or not present. The target reports a = CS | SS << 16
;    as it sees them, c = its ESP, d = the two parameters' low words as it
;    finds them on its stack; then it returns (RETF 8, or a far JMP back).
;    "back=" is the caller's ESP after the return, "rcs=" the CS the CALL
;    pushed (the caller's, with its RPL).
;    Line names: "gate call|jmp cCPL gDPL[np] tTARGET rRPL".
; 2. RETF and IRET from ring 0 to 1 and 3 and from ring 1 to 3 with DS, ES,
;    FS and GS holding one kind of segment: the manual nulls each register
;    whose segment is data or non-conforming code with DPL < new CPL. The
;    landing code reports a = DS << 16 | ES, c = FS << 16 | GS, d = CS << 16 | SS.
;    Line names: "ret retf|iret FROM>TO SEGMENT".
; 3. INT 0x31 through an interrupt or a trap gate of DPL 0 or 3 to a
;    handler in ring 0, ring 1 or conforming ring 0 code, at CPL 0/1/3 with
;    IF = DF = 1: the handler reports a = its EFLAGS, c = the EFLAGS image it
;    was given, d = its CS << 16 | SS; the line's f= shows what IRET restored.
;    Line names: "int int|trap cCPL gDPL TARGET".
%define HIDE_AF_OF                     ; bodies end on shifts and logic ops (harness.inc)
%include "harness.inc"

GATE    equ SCRATCH                     ; the call gate under test
CONF0   equ SCRATCH2                    ; conforming, readable code, DPL 0
NPCODE  equ SCRATCH3                    ; code, DPL 0, not present
TEST_VECTOR equ 0x31

cpls: dd 0, 1, 3
; gate kinds: access byte (P DPL type 0xC: 32-bit call gate)
gate_kinds: dd 0x8C, 0xAC, 0xEC, 0x6C
gate_names: db "g0", 0, 0, "g1", 0, 0, "g3", 0, 0, "g3np"
targets: dd CODE0, CODE1, CODE3, CONF0, NPCODE
target_names: db "t0", 0, 0, "t1", 0, 0, "t3", 0, 0, "tc", 0, 0, "tnp", 0
rpls: dd 0, 3

i_kind: dd 0                            ; 0 call, 1 jmp
i_cpl: dd 0
i_gate: dd 0
i_target: dd 0
i_rpl: dd 0

gate_far: dd 0, 0                       ; offset (ignored), selector
back_far: dd 0, 0                       ; where a JMP target returns to
body_esp_after: dd 0
pushed_cs: dd 0
tg_cs_ss: dd 0
tg_esp: dd 0
tg_params: dd 0

msg_gate: db "gate ", 0
msg_call: db "call c", 0
msg_jmp: db "jmp c", 0
msg_back: db " back=", 0
msg_rcs: db " rcs=", 0

print_digit:                            ; al = 0..9
    add al, '0'
    jmp print_char

gate_name:
    mov esi, msg_gate
    call print_string
    mov esi, msg_call
    cmp dword [i_kind], 0
    je .kind
    mov esi, msg_jmp
.kind:
    call print_string
    mov eax, [i_cpl]
    mov eax, [cpls + eax * 4]
    call print_digit
    call print_space
    mov eax, [i_gate]
    lea esi, [gate_names + eax * 4]
    call print_string
    call print_space
    mov eax, [i_target]
    lea esi, [target_names + eax * 4]
    call print_string
    mov al, ' '
    call print_char
    mov al, 'r'
    call print_char
    mov eax, [i_rpl]
    mov eax, [rpls + eax * 4]
    jmp print_digit

gate_extra:
    mov esi, msg_back
    call print_string
    mov eax, [body_esp_after]
    call print_hex32
    mov esi, msg_rcs
    call print_string
    mov eax, [pushed_cs]
    jmp print_hex16

; write_gate: edi = slot, eax = target offset, edx = target selector,
; ecx = access byte | parameter count << 8.
write_gate:
    push edi
    and edi, 0xFFF8
    add edi, gdt
    mov [edi], ax
    mov [edi + 2], dx
    mov [edi + 4], ch                   ; parameter count
    mov [edi + 5], cl                   ; access
    push eax
    shr eax, 16
    mov [edi + 6], ax
    pop eax
    pop edi
    ret

; ---- the bodies and their targets -------------------------------------------------
call_body:
    push dword 0xBBBB2222
    push dword 0xAAAA1111
    call far [gate_far]
    mov [body_esp_after], esp
    jmp report

jmp_body:
    mov dword [back_far], .back
    mov [back_far + 4], cs
    jmp far [gate_far]
.back:
    mov [body_esp_after], esp
report:
    mov eax, [tg_cs_ss]
    mov ecx, [tg_esp]
    mov edx, [tg_params]
    ret

; Both targets: record what they see, then go back the way they came.
%macro record_target 0
    mov [tg_esp], esp
    sub eax, eax
    mov ax, ss
    shl eax, 16
    mov ax, cs
    mov [tg_cs_ss], eax
%endmacro
call_target:
    record_target
    mov eax, [esp + 4]
    mov [pushed_cs], eax
    mov ax, [esp + 8]
    mov [tg_params], ax
    mov ax, [esp + 12]
    mov [tg_params + 2], ax
    retf 8
jmp_target:
    record_target
    jmp far [back_far]

clear_results:
    sub eax, eax
    mov [tg_cs_ss], eax
    mov [tg_esp], eax
    mov [tg_params], eax
    mov [body_esp_after], eax
    mov [pushed_cs], eax
    ret

gate_tests:
    mov dword [i_kind], 0
.kind:
    mov dword [i_cpl], 0
.cpl:
    mov dword [i_gate], 0
.gate:
    mov dword [i_target], 0
.target:
    mov dword [i_rpl], 0
.rpl:
    call clear_results
    mov edi, GATE
    mov eax, call_target
    cmp dword [i_kind], 0
    je .offset
    mov eax, jmp_target
.offset:
    mov edx, [i_target]
    mov edx, [targets + edx * 4]
    mov ecx, [i_gate]
    mov ecx, [gate_kinds + ecx * 4]
    or ecx, 2 << 8                      ; two parameters
    call write_gate
    mov eax, [i_rpl]
    mov eax, [rpls + eax * 4]
    or eax, GATE
    mov [gate_far + 4], eax
    mov eax, [i_cpl]
    mov eax, [cpls + eax * 4]
    mov [test_ring], eax
    mov dword [name_printer], gate_name
    mov dword [extra_printer], gate_extra
    sub esi, esi
    mov ebx, call_body
    cmp dword [i_kind], 0
    je .run
    mov ebx, jmp_body
.run:
    call run_test
    inc dword [i_rpl]
    cmp dword [i_rpl], 2
    jb .rpl
    inc dword [i_target]
    cmp dword [i_target], 5
    jb .target
    inc dword [i_gate]
    cmp dword [i_gate], 4
    jb .gate
    inc dword [i_cpl]
    cmp dword [i_cpl], 3
    jb .cpl
    inc dword [i_kind]
    cmp dword [i_kind], 2
    jb .kind
    ret

; ---- returns to an outer ring --------------------------------------------------------
ret_pairs: dd 0, 1, 0, 3, 1, 3           ; from, to
ret_segs: dd DATA0, DATA1 | 1, DATA3 | 3, CONF0, CODE0
ret_seg_names: db "d0", 0, 0, "d1", 0, 0, "d3", 0, 0, "c0c", 0, "c0", 0, 0
i_pair: dd 0
i_seg: dd 0
i_how: dd 0                             ; 0 retf, 1 iret
msg_ret: db "ret ", 0
msg_retf: db "retf ", 0
msg_iret: db "iret ", 0
ret_to: dd 0

ret_name:
    mov esi, msg_ret
    call print_string
    mov esi, msg_retf
    cmp dword [i_how], 0
    je .how
    mov esi, msg_iret
.how:
    call print_string
    mov eax, [i_pair]
    mov eax, [ret_pairs + eax * 8]
    call print_digit
    mov al, '>'
    call print_char
    mov eax, [i_pair]
    mov eax, [ret_pairs + eax * 8 + 4]
    call print_digit
    call print_space
    mov eax, [i_seg]
    lea esi, [ret_seg_names + eax * 4]
    jmp print_string

ret_body:
    mov eax, [i_seg]
    mov eax, [ret_segs + eax * 4]
    mov ebx, [ret_to]
    mov ecx, [ring_ss + ebx * 4]
    mov edx, [ring_esp + ebx * 4]
    mov ebx, [ring_cs + ebx * 4]
    mov edi, [i_how]
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    push ecx                            ; SS
    push edx                            ; ESP
    test edi, edi
    jz .far_ret
    push dword 0x2                      ; EFLAGS (IRET)
    push ebx
    push dword land
    iretd
.far_ret:
    push ebx
    push dword land
    retf

land:
    mov ax, ds
    shl eax, 16
    mov ax, es
    mov cx, fs
    shl ecx, 16
    mov cx, gs
    mov dx, cs
    shl edx, 16
    mov dx, ss
    int 0x30

ret_tests:
    mov dword [i_how], 0
.how:
    mov dword [i_pair], 0
.pair:
    mov dword [i_seg], 0
.seg:
    mov eax, [i_pair]
    mov ebx, [ret_pairs + eax * 8 + 4]
    mov [ret_to], ebx
    mov eax, [ret_pairs + eax * 8]
    mov [test_ring], eax
    mov dword [name_printer], ret_name
    sub esi, esi
    mov ebx, ret_body
    call run_test
    inc dword [i_seg]
    cmp dword [i_seg], 5
    jb .seg
    inc dword [i_pair]
    cmp dword [i_pair], 3
    jb .pair
    inc dword [i_how]
    cmp dword [i_how], 2
    jb .how
    ret

; ---- interrupt and trap gates --------------------------------------------------------
int_types: dd 0x8E00, 0x8F00             ; 32-bit interrupt gate, trap gate (P, DPL 0)
int_dpls: dd 0, 3
int_targets: dd CODE0, CODE1, CONF0
int_target_names: db "h0", 0, 0, "h1", 0, 0, "hc", 0, 0
i_type: dd 0
i_idpl: dd 0
i_itarget: dd 0
h_flags: dd 0
h_image: dd 0
h_cs_ss: dd 0
msg_int: db "int int c", 0
msg_trap: db "int trap c", 0

int_name:
    mov esi, msg_int
    cmp dword [i_type], 0
    je .type
    mov esi, msg_trap
.type:
    call print_string
    mov eax, [i_cpl]
    mov eax, [cpls + eax * 4]
    call print_digit
    mov al, ' '
    call print_char
    mov al, 'g'
    call print_char
    mov eax, [i_idpl]
    mov eax, [int_dpls + eax * 4]
    call print_digit
    call print_space
    mov eax, [i_itarget]
    lea esi, [int_target_names + eax * 4]
    jmp print_string

int_body:
    int TEST_VECTOR
    mov eax, [h_flags]
    mov ecx, [h_image]
    mov edx, [h_cs_ss]
    ret

int_handler:
    pushfd
    pop dword [h_flags]
    and dword [h_flags], FLAGS_SHOWN
    mov eax, [esp + 8]
    and eax, FLAGS_SHOWN
    mov [h_image], eax
    mov ax, cs
    shl eax, 16
    mov ax, ss
    mov [h_cs_ss], eax
    iretd

int_tests:
    mov dword [i_type], 0
.type:
    mov dword [i_cpl], 0
.cpl:
    mov dword [i_idpl], 0
.dpl:
    mov dword [i_itarget], 0
.target:
    sub eax, eax
    mov [h_flags], eax
    mov [h_image], eax
    mov [h_cs_ss], eax
    lea edi, [IDT_ADDR + TEST_VECTOR * 8]
    mov eax, int_handler
    mov [edi], ax
    shr eax, 16
    mov [edi + 6], ax
    mov eax, [i_itarget]
    mov eax, [int_targets + eax * 4]
    mov [edi + 2], ax
    mov eax, [i_type]
    mov eax, [int_types + eax * 4]
    mov ecx, [i_idpl]
    mov ecx, [int_dpls + ecx * 4]
    shl ecx, 13
    or eax, ecx
    mov [edi + 4], ax
    mov eax, [i_cpl]
    mov eax, [cpls + eax * 4]
    mov [test_ring], eax
    mov dword [test_eflags], 0x602
    mov dword [name_printer], int_name
    sub esi, esi
    mov ebx, int_body
    call run_test
    inc dword [i_itarget]
    cmp dword [i_itarget], 3
    jb .target
    inc dword [i_idpl]
    cmp dword [i_idpl], 2
    jb .dpl
    inc dword [i_cpl]
    cmp dword [i_cpl], 3
    jb .cpl
    inc dword [i_type]
    cmp dword [i_type], 2
    jb .type
    ret

tests:
    mov edi, CONF0
    sub eax, eax
    mov edx, 0xFFFFF
    mov ecx, 0x9E | 0xC000              ; conforming, readable, DPL 0
    call write_descriptor
    mov edi, NPCODE
    mov ecx, 0x1A | 0xC000              ; code, readable, DPL 0, not present
    call write_descriptor
    call gate_tests
    call ret_tests
    call int_tests
    ret

%include "harness-end.inc"
