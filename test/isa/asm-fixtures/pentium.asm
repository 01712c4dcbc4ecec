; The instructions of issue 14 in nasm syntax: prefixes as the CPU treats
; them, NOPs, far-pointer loads and the rest of the Pentium's integer set.
bits 32
org 0x100000
    pause
    rep nop
    tzcnt eax, ebx
    tzcnt ax, [esi+4]
    lzcnt ecx, [eax]
    rep bsf edx, ecx
    rep bsr edx, [ebx]
    nop dword [eax]
    nop word [eax+eax*1+0]
    nop eax
    hint_nop0 dword [eax]
    hint_nop7 eax
    hint_nop63 ecx
    hint_nop20 word [esp]
    ud1 eax, [eax]
    ud1 eax, ecx
    int1
    icebp
    xlatb
    xlat
    es xlatb
    invd
    wbinvd
    lds eax, [ebx+4]
    les di, [esi]
    lfs esp, [0x1234]
    lgs ecx, [eax+ebx*2+8]
    lss esp, [ebp-8]
    o16 lss sp, [ebp]
    arpl ax, bx
    arpl [eax], cx
    cmpxchg8b [edi]
    lock cmpxchg8b [esp+4]
    bt dword [eax], 31
    bts eax, 5
    btr word [ebx], 3
    lock btc dword [ecx], 7
    wait
    fwait
    fninit
    fnstsw ax
    fnstsw [eax]
    fnstcw [ebx+4]
    fldcw [esp]
    fld tword [eax]
    fld qword [eax]
    fld dword [eax]
    fld st3
    fild word [eax]
    fild qword [eax]
    fistp qword [ecx]
    fbld tword [eax]
    fbstp tword [eax]
    fnstenv [eax]
    fldenv [eax]
    fnsave [eax]
    frstor [eax]
    fadd st0, st0
    fadd st0, st3
    fadd st3, st0
    fsub st1, st0
    fsubr st1, st0
    fdivp st1, st0
    fdivrp st2, st0
    fcom st1
    fcompp
    fucompp
    fxch st1
    fchs
    fsqrt
    fcos
    fcmovb st0, st1
    fucomip st0, st7
    ffreep st2
    fneni
    fsetpm
    fiadd word [eax]
    fidivr dword [eax]
    fdivr qword [eax]
    fst dword [eax]
    ffree st5
    mov dr0, eax
    mov dr7, ecx
    mov edx, dr6
    mov esi, dr3
    a16 mov eax, [0x1234]
    mov eax, [bx+si+4]
    mov [bp+di-2], cx
    lea eax, [bx]
    o16 mov ax, [bp]
    add dword [es:di], 5
