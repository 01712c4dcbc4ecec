// The instructions of issue 14 on both machines, one snippet at a time.
// Bytes come from nasm (test/impl/harness.ts); every expected value is
// worked from the Intel manual in the comments, never read off our output.
// Each test runs the model and impl alike, so a wrong program in either
// fails it.
import { describe, expect, it } from 'vitest';
import { ImplMachine } from '../../impl/machine';
import type { CommonState, Machine, StepEvent } from '../../model/machine';
import { createModelMachine } from '../../properties/machines/model';
import { oracleAvailable } from '../../properties/tools';
import { assemble, bareMachineOn, CODE, dword, handlerFor, readDword, type Setup, STACK0 } from '../impl/harness';

const MACHINES: Array<[string, () => Machine]> = [
  ['model', () => createModelMachine(4 << 20)],
  ['impl', () => new ImplMachine(4 << 20)],
];

interface Run { machine: Machine; events: StepEvent[]; state: CommonState }

/** Assemble `source`, set registers, run `steps` steps. */
function run(make: () => Machine, source: string, regs: Partial<CommonState['regs']> = {}, steps = 1, setup: Setup = {}, prepare?: (m: Machine) => void): Run {
  const machine = bareMachineOn(make(), assemble(source), setup);
  const s = machine.state();
  machine.setState({ ...s, regs: { ...s.regs, ...regs } });
  prepare?.(machine);
  const events: StepEvent[] = [];
  for (let k = 0; k < steps; k++) events.push(machine.step());
  return { machine, events, state: machine.state() };
}

const ZF = 0x40;

describe.runIf(oracleAvailable('nasm'))('issue 14 instructions on model and impl', () => {
  for (const [name, make] of MACHINES) {
    describe(name, () => {
      it('[INS.NOP.1] PAUSE, rep nop, the multi-byte NOP and hint NOPs only advance EIP, even through an unmapped address', () => {
        // Paging maps only the first 4 MiB; 0xFFFF0000 has no page table: any access there would be #PF.
        const src = 'pause\nrep nop\nnop dword [0xffff0000]\nhint_nop0 dword [eax]\nhint_nop63 ecx\nnop word [eax+eax*1+0]\nhlt';
        const r = run(make, src, { eax: 0xffff0000 }, 6, { paging: true });
        expect(r.events.map((e) => e.kind)).toEqual(['retired', 'retired', 'retired', 'retired', 'retired', 'retired']);
        // 2 + 2 + 7 (0F 1F 05 disp32) + 3 + 3 + 5 (66 0F 1F 04 00) bytes.
        expect(r.state.eip).toBe(CODE + 22);
        expect(r.state.cr2).toBe(0);
      });

      it('[INS.BIT.5] [ENC.PREFIX.8] tzcnt/lzcnt (F3 0F BC/BD) and rep bsf run as BSF/BSR on this CPU', () => {
        // EBX = 0x50 = 0101 0000b: lowest set bit 4 (TZCNT would also say 4), highest 6 (LZCNT would say 25).
        const r = run(make, 'tzcnt eax, ebx\nlzcnt ecx, ebx\nrep bsf edx, ebx', { ebx: 0x50, eax: 7, ecx: 7, edx: 7 }, 3);
        expect([r.state.regs.eax, r.state.regs.ecx, r.state.regs.edx]).toEqual([4, 6, 4]);
        expect(r.state.eflags & ZF).toBe(0);
        // Source 0: BSF sets ZF and (INS.BIT.3) leaves the destination; TZCNT would write 32 and set CF.
        const z = run(make, 'tzcnt eax, ebx', { ebx: 0, eax: 0x1234 }, 1);
        expect(z.state.regs.eax).toBe(0x1234);
        expect(z.state.eflags & ZF).toBe(ZF);
      });

      it('[INS.DATA.8] XLAT loads AL from DS:[EBX + AL], AL unsigned', () => {
        const prepare = (m: Machine) => { dword(m, 0x5080, 0x000000a5); dword(m, 0x5010, 0x0000003c); };
        // AL = 0x80 is offset 0x80 (not -128): AL := [0x5080] = 0xA5; the rest of EAX stays.
        const r = run(make, 'xlatb', { ebx: 0x5000, eax: 0x11223380 }, 1, {}, prepare);
        expect(r.state.regs.eax).toBe(0x112233a5);
        const s = run(make, 'xlatb', { ebx: 0x5000, eax: 0x10 }, 1, {}, prepare);
        expect(s.state.regs.eax).toBe(0x3c);
      });

      it('[EXC.SOFT.3] INT1 at CPL 3 reaches a DPL-0 gate (INT 1 there is #GP), pushing the next EIP', () => {
        const r = run(make, 'int1\nhlt', {}, 1, { ring: 3 });
        expect(r.events).toEqual([{ kind: 'exception', vector: 1, errorCode: null }]);
        expect(r.state.eip).toBe(handlerFor(1));
        // Ring 3 -> 0: frame EIP, CS, EFLAGS, ESP, SS below STACK0; EIP is after the 1-byte INT1.
        expect(readDword(r.machine, STACK0 - 20)).toBe(CODE + 1);
        // INT 1 (CD 01) checks the gate DPL: #GP(1 * 8 + 2), pushed EIP is the INT itself.
        const g = run(make, 'int 1\nhlt', {}, 1, { ring: 3 });
        expect(g.events).toEqual([{ kind: 'exception', vector: 13, errorCode: 0x0a }]);
        // Frame with an error code: the code at STACK0 - 24, the EIP above it.
        expect([readDword(g.machine, STACK0 - 24), readDword(g.machine, STACK0 - 20)]).toEqual([0x0a, CODE]);
      });

      it('[SYS.UD2.1] UD1 with its ModRM is #UD at its own address; [SYS.WBINVD.1] INVD is #GP(0) at CPL 3', () => {
        const u = run(make, 'ud1 eax, [eax+0x12345678]\nhlt', {}, 1);
        expect(u.events).toEqual([{ kind: 'exception', vector: 6, errorCode: null }]);
        expect(readDword(u.machine, 0x8000 - 12)).toBe(CODE);
        const v = run(make, 'invd\nhlt', {}, 1, { ring: 3 });
        expect(v.events).toEqual([{ kind: 'exception', vector: 13, errorCode: 0 }]);
        const w = run(make, 'invd\nhlt', {}, 1);
        expect(w.events).toEqual([{ kind: 'retired' }]);
      });

      it('[SEG.FARPTR.1] LDS and o16 LES load offset and selector (offset first); a mod-11 form is #UD', () => {
        // [0x5000] = 0x12345678 (offset), [0x5004] = 0x0023 (ring-3 data: loadable at CPL 0, RPL 3 <= DPL 3).
        const prepare = (m: Machine) => { dword(m, 0x5000, 0x12345678); dword(m, 0x5004, 0x23); };
        const r = run(make, 'lds eax, [0x5000]', {}, 1, {}, prepare);
        expect([r.state.regs.eax, r.state.segments.ds.selector]).toEqual([0x12345678, 0x23]);
        // 16-bit operand size: offset is the word at 0x5000 (0x5678), selector the word at 0x5002 (0x1234 would be
        // beyond the GDT, so store 0x0010 there): dword 0x00105678.
        const w = run(make, 'o16 les bx, [0x5000]', { ebx: 0xaaaa0000 }, 1, {}, (m) => dword(m, 0x5000, 0x00105678));
        expect([w.state.regs.ebx, w.state.segments.es.selector]).toEqual([0xaaaa5678, 0x10]);
        const u = run(make, 'db 0xc5, 0xc0', {}, 1);
        expect(u.events).toEqual([{ kind: 'exception', vector: 6, errorCode: null }]);
      });

      it('[SEG.FARPTR.1] [SEG.LOAD.1] [SEG.LOAD.3] [SEG.LOAD.4] [SEG.LOAD.7] a failed segment load leaves the register: LSS null, LFS beyond the GDT, LSS DPL 3 at CPL 0, LGS not present', () => {
        const at = (selector: number) => (m: Machine) => { dword(m, 0x5000, 0xdeadbeef); dword(m, 0x5004, selector); };
        const cases: Array<[string, number, number, number, Setup]> = [
          ['lss esp, [0x5000]', 0x0000, 13, 0, {}], // SS may not be null: #GP(0)
          ['lfs eax, [0x5000]', 0x0038, 13, 0x38, {}], // GDT limit is 7 entries: #GP(selector)
          ['lss esp, [0x5000]', 0x0023, 13, 0x20, {}], // SS needs RPL = DPL = CPL: #GP(selector & ~3)
          // spare entry: a data segment with P = 0 (attributes 0x4012): #NP(selector)
          ['lgs eax, [0x5000]', 0x0030, 11, 0x30, { spare: [0, 0xfffff, 0x4012] }],
        ];
        for (const [src, selector, vector, code, setup] of cases) {
          const r = run(make, src, { eax: 0x11111111 }, 1, setup, at(selector));
          expect([src, r.events]).toEqual([src, [{ kind: 'exception', vector, errorCode: code }]]);
          expect(r.state.regs.eax).toBe(0x11111111);
          expect(r.state.segments.fs.selector).toBe(0x10);
        }
      });

      it('[SEG.ARPL.1] ARPL raises the destination RPL to the source RPL (ZF = 1), else leaves it (ZF = 0)', () => {
        const r = run(make, 'arpl ax, bx', { eax: 0xffff0010, ebx: 0x0003 }, 1);
        expect(r.state.regs.eax).toBe(0xffff0013);
        expect(r.state.eflags & ZF).toBe(ZF);
        const same = run(make, 'arpl ax, bx', { eax: 0x0012, ebx: 0x0001 }, 1, { eflags: 2 | ZF });
        expect(same.state.regs.eax).toBe(0x0012);
        expect(same.state.eflags & ZF).toBe(0);
        const m = run(make, 'arpl [0x5000], cx', { ecx: 2 }, 1, {}, (x) => dword(x, 0x5000, 0xabcd0020));
        expect(readDword(m.machine, 0x5000)).toBe(0xabcd0022);
      });

      it('[INS.DATA.9] CMPXCHG8B: equal stores ECX:EBX, unequal loads EDX:EAX; a register operand is #UD', () => {
        const prepare = (m: Machine) => { dword(m, 0x5000, 0x11111111); dword(m, 0x5004, 0x22222222); };
        const eq = run(make, 'lock cmpxchg8b [0x5000]', { eax: 0x11111111, edx: 0x22222222, ebx: 0x33333333, ecx: 0x44444444 }, 1, {}, prepare);
        expect([readDword(eq.machine, 0x5000), readDword(eq.machine, 0x5004)]).toEqual([0x33333333, 0x44444444]);
        expect(eq.state.eflags & ZF).toBe(ZF);
        const ne = run(make, 'cmpxchg8b [0x5000]', { eax: 0x11111111, edx: 0x99999999, ebx: 0x33333333, ecx: 0x44444444 }, 1, { eflags: 2 | ZF }, prepare);
        expect([ne.state.regs.eax, ne.state.regs.edx]).toEqual([0x11111111, 0x22222222]);
        expect([readDword(ne.machine, 0x5000), readDword(ne.machine, 0x5004)]).toEqual([0x11111111, 0x22222222]);
        expect(ne.state.eflags & ZF).toBe(0);
        const reg = run(make, 'db 0x0f, 0xc7, 0xc8', {}, 1);
        expect(reg.events).toEqual([{ kind: 'exception', vector: 6, errorCode: null }]);
      });

      it('[ENC.UD.4] MMX and SSE opcodes are #UD on a CPU whose CPUID reports neither', () => {
        for (const src of ['movaps xmm0, xmm1', 'paddb mm0, mm1', 'emms', 'fxsave [eax]', 'syscall']) {
          const r = run(make, `${src}\nhlt`, {}, 1);
          expect([src, r.events]).toEqual([src, [{ kind: 'exception', vector: 6, errorCode: null }]]);
        }
      });
    });
  }
});
