; sieve.asm -- benchmark (b): a sieve of Eratosthenes, then CRC32 over it.
;
; The sieve marks the primes below SIEVE_SIZE in a byte array (1 = prime),
; counts them, then computes the standard CRC32 (reflected, polynomial
; 0xEDB88320, initial value and final XOR all ones, as zlib) of the whole
; array, with a 256-entry table the kernel builds first.  With the default
; size the array is a megabyte: byte loads and stores, strided writes and
; table look-ups.  It prints "sieve " first (the start mark for outside
; timers), then COUNT and CRC in hex, and exits.
;
; Build: mesovirt asm --format bin -o sieve.bin guests/bench/sieve.asm [-D SIEVE_SIZE=n]

org 0x100000
%include "common.inc"

%ifndef SIEVE_SIZE
%define SIEVE_SIZE 1048576
%endif

SIEVE       equ 0x00200000          ; the byte array (SIEVE_SIZE bytes)
CRC_TABLE   equ 0x00110000          ; 256 dwords
stack_top   equ 0x00118000
BSS_END     equ 0x00118000

start:
    mov esp, stack_top
    mov esi, label                  ; the label first: its first byte marks the start
    call put_string                 ; for timers outside the machine (QEMU)

; ---- Every number starts as a prime candidate: fill the array with 1s. ------
    mov edi, SIEVE
    mov ecx, SIEVE_SIZE / 4
.fill:
    mov dword [edi], 0x01010101
    add edi, 4
    dec ecx
    jnz .fill
    mov word [SIEVE], 0             ; 0 and 1 are not prime

; ---- Cross out the multiples of each prime p, from p*p on. -------------------
    mov ebx, 2                      ; p
.next_p:
    mov eax, ebx
    mul eax                         ; EAX = p*p (EDX = 0 for the sizes used)
    cmp eax, SIEVE_SIZE
    jae .count
    cmp byte [SIEVE + ebx], 0
    je .skip
.cross:
    mov byte [SIEVE + eax], 0
    add eax, ebx
    cmp eax, SIEVE_SIZE
    jb .cross
.skip:
    inc ebx
    jmp .next_p

; ---- Count the primes. -----------------------------------------------------
.count:
    xor eax, eax                    ; the count
    xor ecx, ecx                    ; the index
.count_next:
    movzx edx, byte [SIEVE + ecx]
    add eax, edx
    inc ecx
    cmp ecx, SIEVE_SIZE
    jb .count_next
    mov ebp, eax                    ; keep the count

; ---- The CRC32 table: entry n is n shifted through 8 rounds of the polynomial.
    xor ecx, ecx                    ; n
.table_entry:
    mov eax, ecx
    mov edx, 8
.table_bit:
    shr eax, 1
    jnc .no_xor
    xor eax, 0xEDB88320
.no_xor:
    dec edx
    jnz .table_bit
    mov [CRC_TABLE + ecx*4], eax
    inc ecx
    cmp ecx, 256
    jb .table_entry

; ---- CRC32 of the array, one byte at a time through the table. ---------------
    mov eax, 0xFFFFFFFF             ; the running CRC
    mov esi, SIEVE
    mov ecx, SIEVE_SIZE
.crc_byte:
    movzx edx, byte [esi]
    xor dl, al                      ; index = (crc ^ byte) & 0xFF
    shr eax, 8
    xor eax, [CRC_TABLE + edx*4]
    inc esi
    dec ecx
    jnz .crc_byte
    not eax                         ; final XOR
    mov edi, eax

    mov eax, ebp
    call put_hex
    call put_space
    mov eax, edi
    call put_hex
    call put_newline
    jmp exit

label: db "sieve ", 0

align 16
image_end:
