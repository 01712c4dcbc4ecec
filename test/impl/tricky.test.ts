// Hand-worked tests for the tricky parts of impl: lazy flags, the TLB,
// the code cache, limit checks, restartable REP, page-fault error codes.
// Expected values come from the Intel SDM worked by hand (comments say how).
import { describe, expect, it } from 'vitest';
import { oracleAvailable } from '../../properties/tools';
import {
  CODE, PAGE_TABLE, SEL, STACK0, assemble, bareMachine, dword, handlerFor, readDword, runToHalt,
} from './harness';

const haveNasm = oracleAvailable('nasm');

describe.runIf(haveNasm)('impl: lazy flags', () => {
  it('PUSHF sees the flags of the last ADD, POPF replaces them, INC keeps POPF\'s CF', () => {
    const m = bareMachine(assemble(`
      mov eax, 0xffffffff
      add eax, 1          ; 0xffffffff + 1 = 0: CF ZF AF PF set, SF OF clear
      pushfd
      pop ebx             ; 0x57 = CF|bit1|PF|AF|ZF
      push dword 0x8c3    ; OF SF ZF CF (and bit 1)
      popfd
      seto al
      sets cl
      setz dl
      setc dh
      inc esi             ; esi 0 -> 1: ZF SF OF from the result, CF untouched (still 1)
      setc ah
      setz ch
      hlt`));
    runToHalt(m);
    const s = m.state();
    expect(s.regs.ebx).toBe(0x57);
    expect(s.regs.eax & 0xffff).toBe(0x0101); // AH = CF after INC = 1, AL = OF = 1
    expect(s.regs.ecx & 0xffff).toBe(0x0001); // CH = ZF after INC = 0, CL = SF = 1
    expect(s.regs.edx & 0xffff).toBe(0x0101); // DH = CF = 1, DL = ZF = 1
    expect(s.eflags & 0x8d5).toBe(0x001); // after INC 0->1: only CF (kept) of the arithmetic flags
  });

  it('SBB with a borrow in: 0 - 0 - 1 = 0xffffffff sets CF, SF, AF, PF', () => {
    const m = bareMachine(assemble('stc\nmov eax, 0\nsbb eax, 0\npushfd\npop ebx\nhlt'));
    runToHalt(m);
    expect(m.state().regs.eax).toBe(0xffffffff);
    // CF (borrow) 1, PF (0xff has 8 ones) 4, AF (borrow from bit 4) 0x10, SF 0x80, bit 1
    expect(m.state().regs.ebx & 0x8d7).toBe(0x97);
  });
});

describe.runIf(haveNasm)('impl: TLB', () => {
  it('a stale translation survives a page-table edit until INVLPG or a CR3 write', () => {
    const second = 0x22000;
    const m = bareMachine(assemble(`
      mov eax, [0x400000]          ; walks: 0x400000 -> 0x30000
      mov dword [${second}], 0x31007 ; remap to 0x31000, no flush
      mov ebx, [0x400000]          ; stale: still 0x30000
      invlpg [0x400000]
      mov ecx, [0x400000]          ; fresh: 0x31000
      mov dword [${second}], 0x30007
      mov edx, [0x400000]          ; stale again: 0x31000
      mov esi, cr3
      mov cr3, esi                 ; flushes
      mov edi, [0x400000]          ; 0x30000
      hlt`), { paging: true });
    dword(m, 0x20000 + 4, second | 7); // PDE 1 covers 0x400000..0x7fffff
    dword(m, second, 0x30007);
    dword(m, 0x30000, 0x11111111);
    dword(m, 0x31000, 0x22222222);
    runToHalt(m);
    const r = m.state().regs;
    expect([r.eax, r.ebx, r.ecx, r.edx, r.edi]).toEqual([0x11111111, 0x11111111, 0x22222222, 0x22222222, 0x11111111]);
  });

  it('sets the accessed bit on a read and the dirty bit on a write', () => {
    const m = bareMachine(assemble('mov eax, [0x5000]\nmov [0x6000], eax\nhlt'), { paging: true });
    runToHalt(m);
    expect(readDword(m, PAGE_TABLE + 5 * 4) & 0x60).toBe(0x20);
    expect(readDword(m, PAGE_TABLE + 6 * 4) & 0x60).toBe(0x60);
  });
});

describe.runIf(haveNasm)('impl: code cache', () => {
  it('re-decodes an instruction after a store into it (self-modifying code)', () => {
    // First pass runs `mov al, 7`, then patches its immediate to 42; the second
    // pass must see 42: BL = 7 + 42 = 49 (a stale cache would give 14).
    const m = bareMachine(assemble(`
      mov ecx, 2
    again:
    patch:
      mov al, 7
      add bl, al
      mov byte [patch + 1], 42
      loop again
      hlt`));
    runToHalt(m);
    expect(m.state().regs.ebx & 0xff).toBe(49);
  });
});

describe.runIf(haveNasm)('impl: segment limits on the flat fast path', () => {
  it('a base-0 segment with a 64 KiB limit faults on the dword that ends past it', () => {
    // Spare selector 0x30: base 0, byte-granular limit 0xffff, writable data, DPL 0.
    const m = bareMachine(assemble(`
      mov ax, 0x30
      mov ds, ax
      mov eax, [0xfffc]   ; bytes 0xfffc..0xffff: inside
      mov ebx, [0xfffd]   ; byte 0x10000 is past the limit: #GP(0)
      hlt`), { spare: [0, 0xffff, 0x4092] });
    const events = runToHalt(m);
    expect(events.at(-2)).toEqual({ kind: 'exception', vector: 13, errorCode: 0 });
    const s = m.state();
    expect(s.eip).toBe(handlerFor(13) + 1);
    // Same-ring frame: [esp] error code, [esp+4] EIP of the faulting MOV:
    // mov ax, imm16 (66 B8 iw: 4 bytes) + mov ds, ax (8E D8: 2) + mov eax, [moffs] (A1 id: 5).
    expect(readDword(m, s.regs.esp + 4)).toBe(CODE + 11);
    expect(s.regs.ebx).toBe(0);
  });

  it('an expand-down segment allows offsets above the limit only', () => {
    // Spare: base 0, limit 0xfff, expand-down writable data (type 6), B = 1: valid offsets 0x1000..0xffffffff.
    const m = bareMachine(assemble(`
      mov ax, 0x30
      mov es, ax
      mov eax, [es:0x1000]
      mov ebx, [es:0xffc]  ; ends at 0xfff: at or below the limit, #GP(0)
      hlt`), { spare: [0, 0xfff, 0x4096] });
    const events = runToHalt(m);
    expect(events.at(-2)).toEqual({ kind: 'exception', vector: 13, errorCode: 0 });
    // mov ax (4 bytes) + mov es, ax (2) + mov eax, [es:moffs] (26 A1 id: 6)
    expect(readDword(m, m.state().regs.esp + 4)).toBe(CODE + 12);
  });

  it('a stack access past the SS limit is #SS(0), not #GP', () => {
    const m = bareMachine(assemble(`
      mov ax, 0x30
      mov ss, ax
      mov esp, 0x8000
      mov eax, [ebp + 0xfffe]  ; EBP-based: SS, ends at 0x10001
      hlt`), { spare: [0, 0xffff, 0x4092] });
    const events = runToHalt(m);
    expect(events.at(-2)).toEqual({ kind: 'exception', vector: 12, errorCode: 0 });
  });
});

describe.runIf(haveNasm)('impl: REP MOVS restarts after a fault', () => {
  it('stops at the element whose source page is missing, with ECX/ESI/EDI at that element', () => {
    // 0x401000 is unmapped. Four dwords from 0x400ff8: elements at 0x400ff8 and
    // 0x400ffc copy, the third (0x401000) faults: ECX 4 -> 2, ESI = 0x401000,
    // EDI = 0x5008, EIP at the REP MOVSD, #PF error code 0 (read, not present,
    // supervisor), CR2 = 0x401000.
    const code = assemble(`
      mov esi, 0x400ff8
      mov edi, 0x5000
      mov ecx, 4
      cld
    copy:
      rep movsd
      hlt`);
    const m = bareMachine(code, { paging: true });
    dword(m, 0x20000 + 4, 0x22000 | 7);
    dword(m, 0x22000, 0x30007); // 0x400000 -> 0x30000; 0x401000 not present
    dword(m, 0x30ff8, 0xaaaaaaaa); dword(m, 0x30ffc, 0xbbbbbbbb);
    const events = runToHalt(m);
    expect(events.at(-2)).toEqual({ kind: 'exception', vector: 14, errorCode: 0 });
    const s = m.state();
    expect([s.regs.ecx, s.regs.esi, s.regs.edi, s.cr2]).toEqual([2, 0x401000, 0x5008, 0x401000]);
    expect([readDword(m, 0x5000), readDword(m, 0x5004), readDword(m, 0x5008)]).toEqual([0xaaaaaaaa, 0xbbbbbbbb, 0]);
    // Pushed EIP (after the error code) is the REP MOVSD: 5 + 5 + 5 + 1 bytes in.
    expect(readDword(m, s.regs.esp + 4)).toBe(CODE + 16);
  });
});

describe.runIf(haveNasm)('impl: page-fault error codes and CR2', () => {
  const readOnlyUserPage = (code: Uint8Array, setup: Parameters<typeof bareMachine>[1]) => {
    const m = bareMachine(code, { paging: true, ...setup });
    dword(m, PAGE_TABLE + 0x50 * 4, 0x50000 | 5); // 0x50000: present, user, read-only
    dword(m, PAGE_TABLE + 0x51 * 4, 0x51000 | 3); // 0x51000: present, supervisor, writable
    return m;
  };

  it('user write to a read-only user page: error code 7 (P|W|U), CR2 the address, stack switched to ring 0', () => {
    const m = readOnlyUserPage(assemble('mov dword [0x50010], 1\nhlt'), { ring: 3 });
    const events = runToHalt(m);
    expect(events.at(-2)).toEqual({ kind: 'exception', vector: 14, errorCode: 7 });
    const s = m.state();
    expect(s.cr2).toBe(0x50010);
    // Frame on the TSS ring-0 stack: error code, EIP, CS, EFLAGS, ESP, SS.
    expect(s.regs.esp).toBe(STACK0 - 24);
    expect(readDword(m, STACK0 - 20)).toBe(CODE);
    expect(readDword(m, STACK0 - 16)).toBe(SEL.code3);
    expect(readDword(m, STACK0 - 8)).toBe(0x8000);
    expect(readDword(m, STACK0 - 4)).toBe(SEL.data3);
  });

  it('user read of a supervisor page: error code 5 (P|U)', () => {
    const m = readOnlyUserPage(assemble('mov eax, [0x51000]\nhlt'), { ring: 3 });
    expect(runToHalt(m).at(-2)).toEqual({ kind: 'exception', vector: 14, errorCode: 5 });
    expect(m.state().cr2).toBe(0x51000);
  });

  it('supervisor write to a read-only page: allowed with CR0.WP = 0, error code 3 with WP = 1', () => {
    const m = readOnlyUserPage(assemble(`
      mov dword [0x50000], 0x1234   ; WP = 0: succeeds
      mov eax, cr0
      or eax, 0x10000
      mov cr0, eax
      mov dword [0x50004], 0x5678   ; WP = 1: #PF(P|W)
      hlt`), { ring: 0 });
    expect(runToHalt(m).at(-2)).toEqual({ kind: 'exception', vector: 14, errorCode: 3 });
    expect(readDword(m, 0x50000)).toBe(0x1234);
    expect(readDword(m, 0x50004)).toBe(0);
    expect(m.state().cr2).toBe(0x50004);
  });

  it('a missing page table gives error code 2 for a supervisor write (not present)', () => {
    const m = bareMachine(assemble('mov dword [0x800000], 1\nhlt'), { paging: true });
    expect(runToHalt(m).at(-2)).toEqual({ kind: 'exception', vector: 14, errorCode: 2 });
    expect(m.state().cr2).toBe(0x800000);
  });
});

