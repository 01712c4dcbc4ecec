import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';

// Found by `mesovirt check --seed 2` (cases 7140 and 469): with a small ESP
// on a flat 4 GiB stack, an exception frame wraps past offset 0. Every push
// is inside the limit, so the manual gives no #SS: the first push that
// faults is a #PF at 0xfffffffc, as the model says. impl used to check the
// whole frame as one range and raised #SS (then #DF, then shutdown).
//
// Found by `mesovirt check --seed 7` (case 1561): MOV CR3 to a directory
// without the code's page; the #PF, the #DF and the third fault all walk
// unmapped pages, and the last of them (reading IDT entry 8) must still load
// CR2 before the shutdown [EXC.CR2.1]. impl kept the second fault's address.
//
// Found by `mesovirt check --seed 11` (case 1264): SGDT [0xfffffffd] in a
// flat segment with that page absent. The model stores the limit first and
// page-faults on it; impl checked all six bytes against the limit at once
// and raised #GP [SYS.TABLE.2].
//
// Found by `mesovirt check --seed 100` (case 39092): ROL SP leaves ESP = 1,
// then PUSH GS at CPL 1 writes its two bytes at 0xFFFFFFFD, inside the flat
// stack's limit; impl also read the whole 4-byte slot, which wraps past
// 4 GiB, and raised #SS [SEG.PUSH.1].
//
// Found by `mesovirt check --seed 100` (case 66118 and two more): o16 ENTER
// 0x7fff, 0x80 whose final SP unit wraps past 4 GiB; impl raised #SS, the
// model retired without touching the final ESP. Both now make the write
// access the host CPU makes there [INS.STACK.7].
//
// Found by `mesovirt check --seed 5` (case 455): MOVZX ESP, AX leaves a
// small ESP, then PUSHAW at CPL 3 pushes eight words that wrap past offset 0
// of the flat stack, each inside the limit; impl checked the frame as one
// range and raised #SS [INS.STACK.3].
//
// Found by `mesovirt check --seed 200` (case 1145): REP GS MOVSD going down
// from ESI = 0x8000 completes elements in page 8, then the element reading
// 0x7ffc faults on its store. The step ends after the completed elements;
// impl kept the accessed bit the faulting element's read had set in page 7's
// PTE, the model drops everything that element did [INS.STRING.4].
//
// Found once DIFF cases had random descriptor tables (`check --seed 1`,
// cases 1747 and 117): impl pushed RF = 1 in the EFLAGS image of a #DF (an
// abort: only faults push RF = 1) [EXC.RF.1]; and a not-present 16-bit gate
// for #BR raised #GP in impl where the gate's presence is checked first and
// gives #NP [EXC.IDT.5] [EXC.IDT.6].
//
// Found by `mesovirt check --seed 500` (case 21494): O16 RET into zeros that
// run into random bytes, which are no instruction (#UD). The model dropped
// the accessed bit the successful fetch had set in that page's PTE; impl
// kept it, as EXC.FAULT.1 says [EXC.FETCH.1].
//
// Found by `mesovirt check --seed 600` (case 165018): o16 CALL FAR to a
// conforming segment with a 6-byte limit and an offset beyond it, with SP
// about to wrap onto a missing page. impl raised #GP(0), the model pushed
// first and page-faulted; the manual checks the limit first [PRIV.EIP.1].
//
// Found by the 10,000,000-step campaign (default seed, cases 389871 and
// 532551): #GP delivered through a gate to a conforming segment whose limit
// the handler's offset exceeds, on a stack about to page-fault — the model
// pushed first [PRIV.EIP.1]; and a store that turned LMSW CX into MOV ECX,
// CR6 at CPL 1 — impl checked the CPL before the CR number [ENC.UD.3].
//
// Found by `mesovirt check --steps 10000000 --seed 2026` (case 630512):
// IRETD from CPL 1 to CPL 3 loading an SS whose B bit is clear (a 16-bit
// expand-down stack) pops ESP = 0x80000000; only SP takes it, the upper half
// of ESP stays [SEG.STACK.1]. impl loaded all 32 bits.
// retf-cs-slot-reads-four-bytes: O16 PUSH CS, PUSH FS, RETF at CPL 0 with
// ESP at 0x8ffe: RETF pops EIP from 0x8ffa and the CS slot from 0x8ffe,
// four bytes that run into page 9, whose walk sets its PTE's accessed bit
// [PRIV.RET.1]. impl read only the two bytes of the selector and left the
// bit clear (found by the first 3-million-step campaign with streams drawn
// up to the step budget; it predates this session's changes).
describe('impl: campaign findings replayed', () => {
  for (const name of ['iret-to-16-bit-stack-sets-sp', 'handler-limit-before-push', 'mov-cr6-ud-before-gp', 'far-call-limit-before-push', 'undefined-opcode-keeps-fetch-accessed-bit', 'double-fault-pushes-rf-clear', 'absent-16-bit-gate-is-np', 'rep-faulting-element-drops-accessed-bit', 'pusha-frame-wraps-past-zero', 'enter-final-esp-wraps', 'stack-frame-wraps-past-zero', 'stack-frame-wraps-cr2', 'triple-fault-loads-cr2', 'sgdt-limit-before-base', 'push-segment-checks-two-bytes',
    'single-step-frame-keeps-undefined-of', 'single-step-gp-frame-keeps-undefined-of', 'retf-cs-slot-reads-four-bytes']) {
    it(`replay ${name}: model and impl agree`, () => {
      const run = spawnSync(process.execPath, ['bin/mesovirt.js', 'replay', `test/impl/replays/${name}.json`], { encoding: 'utf8', timeout: 120_000 });
      expect(run.stdout + run.stderr).not.toMatch(/still differ/i);
      expect(run.status).toBe(0);
    });
  }
});
