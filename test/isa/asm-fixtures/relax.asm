; Relaxation both ways: jumps that nasm makes short, and ones it must make
; near, including a jump whose size depends on another jump's size.
bits 32
org 0x200000
top:
    jmp a           ; short: a is close
    jmp b           ; near: b is 200 bytes away
    jz top          ; short backwards
a:  times 100 nop
    jnz a           ; short backwards
    jmp c           ; short only if the next jump is short
    jmp d
    times 122 nop
c:  nop
d:  nop
b:  times 100 db 0
    jmp top         ; near backwards
    call top
    jmp short d
    jmp near top
    jecxz b
