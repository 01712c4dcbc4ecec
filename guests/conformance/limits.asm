; limits.asm -- segment limit checks at the boundaries.
;
; Six data segments based at TEST_AREA: expand-up with byte granularity
; (limit 0xFFF), expand-up with 4 KiB granularity (limit 0 and 1, so 0xFFF
; and 0x1FFF), expand-down with B=1 (upper bound 4 GiB - 1) and B=0 (upper
; bound 0xFFFF), and expand-down with granularity. For offsets just inside
; and just outside each limit, 1-, 2- and 4-byte reads through DS, writes
; through DS and reads through SS, all at CPL 3 (DPL 3 segments), so that a
; stack fault is delivered on the ring-0 stack: ok (a = the value read; memory holds its
; own address in every dword near the boundaries) or #GP(0) / #SS(0).
; Line names: "lim SEGMENT OFFSET SIZE HOW", e.g. "lim down16 0000ffff 2 ss".
%include "harness.inc"

; segment kinds: access byte, flags nibble << 4 (G D/B), limit, name
%macro segkind 4
    dd %1 | (%2 << 8), %3
%%name:
    db %4
    times 8 - ($ - %%name) db 0
%endmacro
SEGKIND_SIZE equ 16
segkinds:
    segkind 0x92, 0x40, 0x00FFF, "up"       ; 0
    segkind 0x92, 0xC0, 0x00000, "upg0"     ; 1
    segkind 0x92, 0xC0, 0x00001, "upg1"     ; 2
    segkind 0x96, 0x40, 0x00FFF, "down32"   ; 3
    segkind 0x96, 0x00, 0x00FFF, "down16"   ; 4
    segkind 0x96, 0xC0, 0xFFFFE, "downg"    ; 5

; the cases: segment kind, offset
cases:
    dd 0, 0x0FFC, 0, 0x0FFD, 0, 0x0FFE, 0, 0x0FFF, 0, 0x1000
    dd 1, 0x0FFC, 1, 0x0FFE, 1, 0x0FFF, 1, 0x1000
    dd 2, 0x1FFC, 2, 0x1FFD, 2, 0x1FFF, 2, 0x2000
    dd 3, 0x0FFF, 3, 0x1000, 3, 0xFFFFFFFC, 3, 0xFFFFFFFD, 3, 0xFFFFFFFF
    dd 4, 0x0FFF, 4, 0x1000, 4, 0xFFFC, 4, 0xFFFD, 4, 0xFFFF, 4, 0x10000
    dd 5, 0xFFFFEFFF, 5, 0xFFFFF000, 5, 0xFFFFFFFC
cases_end:

bodies: dd read_ds_1, read_ds_2, read_ds_4, write_ds_1, write_ds_2, write_ds_4, read_ss_1, read_ss_2, read_ss_4
body_names: db "1 rd", 0, 0, 0, 0, "2 rd", 0, 0, 0, 0, "4 rd", 0, 0, 0, 0
            db "1 wr", 0, 0, 0, 0, "2 wr", 0, 0, 0, 0, "4 wr", 0, 0, 0, 0
            db "1 ss", 0, 0, 0, 0, "2 ss", 0, 0, 0, 0, "4 ss", 0, 0, 0, 0

i_case: dd 0
i_body: dd 0
offset: dd 0
msg_lim: db "lim ", 0

lim_name:
    mov esi, msg_lim
    call print_string
    mov eax, [i_case]
    mov eax, [cases + eax * 8]
    shl eax, 4
    lea esi, [segkinds + eax + 8]
    call print_string
    call print_space
    mov eax, [offset]
    call print_hex32
    call print_space
    mov eax, [i_body]
    lea esi, [body_names + eax * 8]
    call print_string
    ret

%macro read_body 3   ; name, segment register, register to read into
%1:
    mov edi, [offset]
    mov ax, SCRATCH | 3
    mov cx, ss
    mov %2, ax
    sub eax, eax
    mov %3, [%2:edi]
    mov %2, cx                  ; harmless for DS; needed for SS before ret
    sub ecx, ecx
    sub edx, edx
    ret
%endmacro
read_body read_ds_1, ds, al
read_body read_ds_2, ds, ax
read_body read_ds_4, ds, eax
read_body read_ss_1, ss, al
read_body read_ss_2, ss, ax
read_body read_ss_4, ss, eax

%macro write_body 2
%1:
    mov edi, [offset]
    mov ax, SCRATCH | 3
    mov ds, ax
    mov eax, 0x5A5A5A5A
    mov [edi], %2
    mov ax, ss
    mov ds, ax
    mov eax, [TEST_AREA + edi]  ; what landed there (flat)
    sub ecx, ecx
    sub edx, edx
    ret
%endmacro
write_body write_ds_1, al
write_body write_ds_2, ax
write_body write_ds_4, eax

; Around every offset the cases touch, each dword holds its own address.
windows: dd TEST_AREA - 0x1010, TEST_AREA - 0x10, TEST_AREA + 0xFF0, TEST_AREA + 0x1FF0, TEST_AREA + 0xFFF0
windows_end:
fill:
    mov esi, windows
.window:
    mov edi, [esi]
    mov ecx, 8
.next:
    mov [edi], edi
    add edi, 4
    dec ecx
    jnz .next
    add esi, 4
    cmp esi, windows_end
    jb .window
    ret

tests:
    mov dword [i_case], 0
.case:
    mov dword [i_body], 0
.body:
    call fill
    mov eax, [i_case]
    mov ecx, [cases + eax * 8 + 4]
    mov [offset], ecx
    mov eax, [cases + eax * 8]
    shl eax, 4
    mov ecx, [segkinds + eax]
    or ecx, 3 << 5              ; DPL 3
    mov edx, [segkinds + eax + 4]
    mov eax, TEST_AREA
    mov edi, SCRATCH
    call write_descriptor
    mov dword [name_printer], lim_name
    mov dword [test_ring], 3    ; a stack fault needs a stack switch to be reported
    sub esi, esi
    mov eax, [i_body]
    mov ebx, [bodies + eax * 4]
    call run_test
    inc dword [i_body]
    cmp dword [i_body], 9
    jb .body
    inc dword [i_case]
    cmp dword [i_case], (cases_end - cases) / 8
    jb .case

    ret

%include "harness-end.inc"
