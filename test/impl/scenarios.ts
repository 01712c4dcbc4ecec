// Small system-level programs that exercise what the mutants of impl break
// (impl/mutants.ts): run in lock step on the model and impl, each must agree.
// Assembled with nasm; the layout is test/impl/harness.ts.
import type { Setup } from './harness';
import type { Machine } from '../../model/machine';
import { dword, PAGE_DIRECTORY, PAGE_TABLE } from './harness';

export interface Scenario {
  readonly name: string;
  readonly source: string;
  readonly setup?: Setup;
  readonly prepare?: (m: Machine) => void;
}

const remapPage = (m: Machine): void => {
  dword(m, 0x20000 + 4, 0x22000 | 7);
  dword(m, 0x22000, 0x30007);
  dword(m, 0x30000, 0x11111111);
  dword(m, 0x31000, 0x22222222);
};

export const SCENARIOS: readonly Scenario[] = [
  { name: 'sbb with carry in', source: 'stc\nmov eax, 5\nsbb eax, 2\nhlt' },
  { name: 'popf then a conditional', source: 'mov eax, 0xffffffff\nadd eax, 1\npush dword 0x2\npopfd\nsetz bl\nsetc bh\nhlt' },
  { name: 'stale TLB until CR3 write', setup: { paging: true }, prepare: remapPage, source: `
      mov eax, [0x400000]
      mov dword [0x22000], 0x31007
      mov esi, cr3
      mov cr3, esi
      mov ebx, [0x400000]
      hlt` },
  { name: 'stale TLB until INVLPG', setup: { paging: true }, prepare: remapPage, source: `
      mov eax, [0x400000]
      mov dword [0x22000], 0x31007
      invlpg [0x400000]
      mov ebx, [0x400000]
      hlt` },
  { name: 'self-modifying code', source: `
      mov ecx, 2
    again:
    patch:
      mov al, 7
      add bl, al
      mov byte [patch + 1], 42
      loop again
      hlt` },
  { name: 'expand-down limit', setup: { spare: [0, 0xfff, 0x4096] }, source: `
      mov ax, 0x30
      mov es, ax
      mov eax, [es:0xfff]
      hlt` },
  { name: 'iret to ring 3', source: `
      push dword 0x23
      push dword 0x7000
      push dword 0x2
      push dword 0x1b
      push dword ring3
      iretd
    ring3:
      mov eax, esp
      hlt` },
  { name: 'user page fault error code', setup: { ring: 3, paging: true },
    prepare: (m) => dword(m, PAGE_TABLE + 0x50 * 4, 0x50000 | 5), source: 'mov dword [0x50010], 1\nhlt' },
  { name: 'rep with ecx = 0', source: 'xor ecx, ecx\nmov edi, 0x5000\nmov eax, 0x12345678\nrep stosd\nhlt' },
  { name: 'shift by 32', source: 'mov eax, 0x80000001\nmov cl, 32\nshl eax, cl\nhlt' },
  { name: 'write protect at ring 0', setup: { paging: true }, prepare: (m) => dword(m, PAGE_TABLE + 0x50 * 4, 0x50000 | 5), source: `
      mov eax, cr0
      or eax, 0x10000
      mov cr0, eax
      mov dword [0x50000], 1
      hlt` },
  // Six #UD from ring 3 to a ring-0 handler through the same gate: from the
  // third on, delivery reuses what the last one read (delivery.ts, GateMemo)
  // unless the handler changed it: the TSS's ESP0 before the fourth, the
  // gate's offset before the fifth, the code descriptor's accessed bit
  // before the sixth.
  { name: 'gate memo after IDT, GDT and TSS writes', setup: { ring: 3 }, source: `
      mov eax, handler
      mov [0x2030], ax
      shr eax, 16
      mov [0x2036], ax
      ud2
      ud2
      ud2
      ud2
      ud2
      ud2
      mov eax, [count]
      hlt
    handler:
      inc dword [count]
      cmp dword [count], 3
      jne .n3
      mov dword [0x2804], 0x8800
    .n3:
      cmp dword [count], 4
      jne .n4
      mov eax, handler2
      mov [0x2030], ax
      shr eax, 16
      mov [0x2036], ax
    .n4:
      cmp dword [count], 5
      jne .n5
      and byte [0x100d], 0xfe
    .n5:
      add dword [esp], 2
      iretd
    handler2:
      add dword [count], 0x100
      jmp handler
    count: dd 0` },
  // Four #UD from ring 3 with paging on: the second is delivered from the
  // memo, then its handler maps the page of the IDT and TSS (linear 0x2000)
  // to a copy at 0x5000 whose ESP0 differs and flushes the old translation
  // with INVLPG. No byte the memo watches is written, so only the changed
  // TLB entry sends the third delivery down the generic path, onto the new
  // ring-0 stack (remembered-reads.ts readsHold).
  { name: 'gate memo after the TSS page is remapped', setup: { ring: 3, paging: true }, source: `
      mov eax, handler
      mov [0x2030], ax
      shr eax, 16
      mov [0x2036], ax
      ud2
      ud2
      ud2
      ud2
      mov eax, [count]
      hlt
    handler:
      inc dword [count]
      cmp dword [count], 2
      jne .done
      mov eax, [0x2030]
      mov [0x5030], eax
      mov eax, [0x2034]
      mov [0x5034], eax
      mov dword [0x5804], 0x8800
      mov dword [0x5808], 0x10
      mov dword [${PAGE_TABLE + 2 * 4}], 0x5007
      invlpg [0x2000]
    .done:
      add dword [esp], 2
      iretd
    count: dd 0` },
  // Four #UD from ring 3 with paging on. Before the third, the handler
  // clears the accessed bits of the page directory entry and of the page
  // table entries of the GDT's page and of the IDT and TSS's page, and
  // reloads CR3 after its last use of the stack: the remembered reads are
  // walked again (remembered-reads.ts readsHold), setting the accessed bits
  // as the generic path would, and from its IRET (whose frame is read slot
  // by slot, walking the stack's page first) on every delivery and IRET is
  // from the memos. The fourth handler halts (nothing else may walk those
  // pages before the end).
  { name: 'gate and IRET memos after a TLB flush', setup: { ring: 3, paging: true }, source: `
      mov eax, handler
      mov [0x2030], ax
      shr eax, 16
      mov [0x2036], ax
      ud2
      ud2
      ud2
      ud2
    handler:
      inc dword [count]
      cmp dword [count], 4
      jne .go
      hlt
    .go:
      add dword [esp], 2
      cmp dword [count], 2
      jne .done
      and dword [${PAGE_DIRECTORY}], ~0x20
      and dword [${PAGE_TABLE + 1 * 4}], ~0x20
      and dword [${PAGE_TABLE + 2 * 4}], ~0x20
      mov eax, cr3
      mov cr3, eax
    .done:
      iretd
    count: dd 0` },
  // Three #UD from ring 3 with paging on. Before the third, the handler
  // clears the dirty bit of the ring-0 stack's page, flushes its TLB entry
  // and reads the page, so the entry is back but clean: the third frame's
  // pushes must walk the page to set the dirty bit, as pushFrame's write
  // through translate does (stack-switch.ts pushRingFrame writes straight
  // only through a dirty entry). Its handler halts before touching the stack.
  { name: 'delivery onto a clean stack page', setup: { ring: 3, paging: true }, source: `
      mov eax, handler
      mov [0x2030], ax
      shr eax, 16
      mov [0x2036], ax
      ud2
      ud2
      ud2
    handler:
      inc dword [count]
      cmp dword [count], 3
      jne .go
      hlt
    .go:
      add dword [esp], 2
      cmp dword [count], 2
      jne .done
      and dword [${PAGE_TABLE + 8 * 4}], ~0x40
      invlpg [0x8000]
      mov eax, [0x8ff0]
    .done:
      iretd
    count: dd 0` },
  // Three #UD from ring 3. The first sets the descriptors' accessed bits
  // (a delivery that writes one leaves no memo); then the ring-0 stack's top
  // becomes the TSS's SS0 slot, so the second pushes the old SS over ESP0,
  // a word it read. The memo it leaves must not keep the ESP0 it read
  // (remembered-reads.ts reads its words once more): the third delivery
  // takes ESP0 = 0x23.
  { name: 'gate memo after its frame overwrote ESP0', setup: { ring: 3 }, source: `
      mov eax, handler
      mov [0x2030], ax
      shr eax, 16
      mov [0x2036], ax
      ud2
      mov dword [0x2804], 0x2808
      ud2
      ud2
      mov eax, [count]
      hlt
    handler:
      inc dword [count]
      add dword [esp], 2
      iretd
    count: dd 0` },
  // Six #UD to a ring-0 handler whose IRET returns to the ring they came
  // from: from the second IRET on, IRET reuses what the last one read
  // (ops/far.ts, IretMemo) unless the handler changed it: the stack
  // descriptor's limit before the third, the code descriptor's accessed bit
  // before the fourth, its limit before the fifth.
  iretMemoScenario(3),
  iretMemoScenario(0),
  // The timer's IRQ 0 (vector 0x10 here) comes due during a run of SS loads:
  // each leaves an interrupt shadow (EXC.SHADOW.1), so it is taken only
  // after the INC that follows them.
  { name: 'interrupt held back by MOV SS and POP SS', source: `
      mov al, 0x11
      out 0x20, al
      mov al, 0x10
      out 0x21, al
      mov al, 0x04
      out 0x21, al
      mov al, 0x01
      out 0x21, al
      mov al, 0xfe
      out 0x21, al
      mov al, 0x34
      out 0x43, al
      mov al, 4
      out 0x40, al
      xor al, al
      out 0x40, al
      mov dx, 0x10
      sti
      times 4 mov ss, dx
      times 4 push dword 0x10
      times 4 pop ss
      inc ecx
      hlt` },
  // An exception frame pushed over instructions already decoded (the stack
  // runs into the code of `target`), which then run again: they must be
  // decoded afresh from the frame's bytes (stack-switch.ts pushFrame). The
  // #UD sits at 0x1008b, so the frame (EIP 0x1008b, CS 8, EFLAGS 2) reads
  // as MOV EAX, [EAX] and ALU instructions on [EAX] = [0x6000]; the stale
  // decoding would load EAX = 0x11111111 instead.
  { name: 'exception frame over decoded code', source: `
      mov eax, handler
      mov [0x2030], ax
      shr eax, 16
      mov [0x2036], ax
      call target
      mov esp, target + 12
      times 0x8b - ($ - $$) nop
      ud2
    handler:
      mov esp, 0x8000
      mov dword [0x6000], 0x6000
      mov eax, 0x6000
      call target
      hlt
    target:
      mov eax, 0x11111111
      times 7 nop
      ret` },
  // The same from ring 3: the frame of a delivery to ring 0 (SS, ESP,
  // EFLAGS, CS, EIP) is pushed over the first 20 bytes of `target`, which
  // ring 3 ran before; the handler runs them (stack-switch.ts pushRingFrame
  // writes straight to RAM only in a frame without decoded code).
  { name: 'inner-ring frame over decoded code', setup: { ring: 3 }, source: `
      mov eax, handler
      mov [0x2030], ax
      shr eax, 16
      mov [0x2036], ax
      mov dword [0x2804], target + 20
      call target
      ud2
    handler:
      mov esp, 0x8800
      mov dword [0x6000], 0x6000
      mov eax, 0x6000
      call target
      hlt
    target:
      mov eax, 0x11111111
      times 15 nop
      ret` },
];

/** The IRET memo scenario from `ring` (3: CS 0x1b and SS 0x23, to an outer
 * ring; 0: CS 0x08, to the same ring, where SS is not reloaded). */
function iretMemoScenario(ring: 0 | 3): Scenario {
  const code = ring === 3 ? 0x1018 : 0x1008, stack = ring === 3 ? 0x1020 : 0x1010;
  return { name: `iret memo after GDT writes (ring ${ring})`, setup: { ring }, source: `
      mov eax, handler
      mov [0x2030], ax
      shr eax, 16
      mov [0x2036], ax
      ud2
      ud2
      ud2
      ud2
      ud2
      ud2
      mov eax, [count]
      hlt
    handler:
      inc dword [count]
      cmp dword [count], 3
      jne .n3
      mov word [${stack}], 0xfff0
    .n3:
      cmp dword [count], 4
      jne .n4
      and byte [${code + 5}], 0xfe
    .n4:
      cmp dword [count], 5
      jne .n5
      mov word [${code}], 0xfff0
    .n5:
      add dword [esp], 2
      iretd
    count: dd 0` };
}

