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
