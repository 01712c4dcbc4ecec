; floppy.asm -- a boot sector that starts a flat Multiboot kernel on a PC BIOS
; (used for Bochs, which has no Multiboot loader). Assembled with nasm, not
; with our assembler: 16-bit code is outside mesovirt's subset.
;
; Disk layout: sector 1 is this boot sector, the kernel's flat image (built
; with the Multiboot a.out-kludge header) follows from sector 2. The runner
; patches `kernel_sectors` with the image's length in sectors.
;
; Steps: read the image to 0x10000 with BIOS INT 13h (one sector at a time,
; CHS of a 1.44 MB floppy), enable A20, switch to 32-bit protected mode with
; flat segments, copy the image to its Multiboot load address, zero its bss,
; and jump to the entry with EAX = 0x2BADB002 and EBX -> an empty Multiboot
; information structure (flags 0) -- the state a Multiboot loader promises.
bits 16
org 0x7c00

STAGING     equ 0x10000         ; where the BIOS reads the image to
INFO        equ 0x500           ; the (empty) Multiboot information

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7c00
    mov [boot_drive], dl
    mov ax, STAGING >> 4
    mov es, ax
    xor di, di                  ; di = sector index (0-based, of the image)
.read:
    cmp di, [kernel_sectors]
    jae .loaded
    mov ax, di
    inc ax                      ; LBA = index + 1 (after the boot sector)
    xor dx, dx
    mov bx, 18
    div bx                      ; ax = track (cyl*2+head), dx = sector-1
    mov cl, dl
    inc cl                      ; sector (1-based)
    mov dh, al
    and dh, 1                   ; head
    shr ax, 1
    mov ch, al                  ; cylinder
    mov dl, [boot_drive]
    xor bx, bx
    mov ax, 0x0201              ; read 1 sector to es:bx
    int 0x13
    jc .read                    ; retry on error
    mov ax, es
    add ax, 0x20                ; next 512 bytes
    mov es, ax
    inc di
    jmp .read
.loaded:
    in al, 0x92                 ; fast A20
    or al, 2
    and al, 0xfe
    out 0x92, al
    lgdt [gdt_pointer]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp dword 0x08:protected

bits 32
protected:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, 0x7c00
    ; find the Multiboot header in the first 8 KiB
    mov esi, STAGING
.find:
    cmp dword [esi], 0x1BADB002
    je .found
    add esi, 4
    jmp .find
.found:
    mov edi, [esi + 16]         ; load_addr
    mov ecx, [esi + 20]         ; load_end_addr
    sub ecx, edi
    mov ebx, [esi + 24]         ; bss_end_addr
    mov edx, [esi + 28]         ; entry_addr
    push esi
    mov esi, STAGING
    cld
    rep movsb                   ; copy the image
    pop esi
    mov ecx, ebx
    sub ecx, edi
    jbe .nobss
    xor eax, eax
    rep stosb                   ; zero the bss
.nobss:
    mov dword [INFO], 0         ; Multiboot info: no fields valid
    mov ebx, INFO
    mov eax, 0x2BADB002
    jmp edx

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF       ; 0x08: flat 32-bit code
    dq 0x00CF92000000FFFF       ; 0x10: flat data
gdt_pointer:
    dw gdt_pointer - gdt - 1
    dd gdt
boot_drive: db 0

times 508 - ($ - $$) db 0
kernel_sectors: dw 0            ; patched by the runner
    dw 0xAA55
