// Segmentation: segment-register loads and limit checks. Expected values from
// the Intel SDM vol. 3A §3.4.5 (descriptor fields), §5.3 (limit checking,
// expand-down), §5.10 (LAR/LSL/VERR/VERW) and vol. 2 MOV/POP pseudo-code.
import { describe, expect, it } from 'vitest';
import { systemState, segmentDescriptor, SEL, LAYOUT, readDword, flatData, flatCode } from '../../properties/builders';
import { readMemory, writeMemory, writeRegister } from '../../model/cpu/context';
import { loadDataSegment } from '../../model/cpu/segmentation';
import { execute } from '../../model/cpu/execute';
import type { MachineState } from '../../model/cpu/state';
import { ZF } from '../../model/cpu/eflags';
import { insn, reg16, reg32, sreg } from './insn';

const sel = (index: number, rpl = 0): number => (index << 3) | rpl;
const EXTRA = SEL.firstFree;

function loaded(r: { kind: string; value?: MachineState }): MachineState {
  expect(r.kind).toBe('ok');
  return r.value!;
}

describe('limit checks [SEG.LIMIT.1] [SEG.LIMIT.2]', () => {
  const withSegment = (fields: Parameters<typeof segmentDescriptor>[0]): MachineState => {
    const s = systemState({ extraDescriptors: [segmentDescriptor(fields)] });
    return loaded(loadDataSegment(s, 'es', sel(EXTRA)));
  };
  it('expand-up: the last byte may be at the limit, one past faults #GP(0)', () => {
    const s = withSegment({ type: 0x2, limit: 0xfff, g: false });
    expect(readMemory(s, 'es', 0xffc, 32).kind).toBe('ok');
    expect(readMemory(s, 'es', 0xffd, 32)).toEqual({ kind: 'fault', vector: 13, errorCode: 0, rule: 'SEG.LIMIT.1' });
    expect(readMemory(s, 'es', 0xfff, 8).kind).toBe('ok');
    expect(readMemory(s, 'es', 0x1000, 8)).toMatchObject({ vector: 13, errorCode: 0 });
  });
  it('through SS a limit violation is #SS(0)', () => {
    let s = systemState({ extraDescriptors: [segmentDescriptor({ type: 0x2, limit: 0xfff, g: false })] });
    s = loaded(loadDataSegment(s, 'ss', sel(EXTRA)));
    expect(readMemory(s, 'ss', 0x1000, 8)).toEqual({ kind: 'fault', vector: 12, errorCode: 0, rule: 'SEG.LIMIT.1' });
  });
  it('G scales the limit to (limit << 12) | 0xFFF [SEG.DESC.1]', () => {
    const s = withSegment({ type: 0x2, limit: 0x1, g: true });
    expect(s.segments.es.limit).toBe(0x1fff);
    expect(readMemory(s, 'es', 0x1fff, 8).kind).toBe('ok');
    expect(readMemory(s, 'es', 0x2000, 8).kind).toBe('fault');
  });
  it('expand-down, B = 1: offsets limit+1 .. 0xFFFFFFFF are valid, the limit itself is not', () => {
    const s = withSegment({ type: 0x6, limit: 0xfff, g: false, big: true });
    expect(readMemory(s, 'es', 0xfff, 8)).toMatchObject({ vector: 13, errorCode: 0 });
    expect(readMemory(s, 'es', 0xffe, 32)).toMatchObject({ vector: 13 });
    expect(readMemory(s, 'es', 0x1000, 32).kind).toBe('ok');
    expect(readMemory(s, 'es', 0xfffffffc, 32).kind).toBe('ok');
    expect(readMemory(s, 'es', 0xfffffffd, 32).kind).toBe('fault');
  });
  it('expand-down, B = 0: the upper bound is 0xFFFF', () => {
    const s = withSegment({ type: 0x6, limit: 0xfff, g: false, big: false });
    expect(readMemory(s, 'es', 0xfffc, 32).kind).toBe('ok');
    expect(readMemory(s, 'es', 0xfffd, 32)).toMatchObject({ vector: 13, errorCode: 0 });
    expect(readMemory(s, 'es', 0x10000, 8).kind).toBe('fault');
  });
  it('writes need a writable data segment [SEG.ACCESS.2]', () => {
    const s = withSegment({ type: 0x0 });
    expect(readMemory(s, 'es', 0, 8).kind).toBe('ok');
    expect(writeMemory(s, 'es', 0, 8, 1)).toMatchObject({ vector: 13, errorCode: 0 });
  });
});

describe('null selectors [SEG.LOAD.1] [SEG.LOAD.2] [SEG.ACCESS.1]', () => {
  it('loading 0 into DS succeeds and a later access faults #GP(0)', () => {
    const s = loaded(loadDataSegment(systemState(), 'ds', 0));
    expect(s.segments.ds.valid).toBe(false);
    expect(readMemory(s, 'ds', 0x100, 8)).toEqual({ kind: 'fault', vector: 13, errorCode: 0, rule: 'SEG.ACCESS.1' });
  });
  it('a null selector with RPL 3 is still null', () => {
    const s = loaded(loadDataSegment(systemState({ cpl: 3 }), 'fs', 3));
    expect(s.segments.fs).toMatchObject({ selector: 3, valid: false });
  });
  it('loading 0 into SS faults #GP(0)', () => {
    expect(loadDataSegment(systemState(), 'ss', 0)).toEqual({ kind: 'fault', vector: 13, errorCode: 0, rule: 'SEG.LOAD.1' });
  });
});

describe('SS loads [SEG.LOAD.4]', () => {
  it('RPL must equal CPL', () => {
    expect(loadDataSegment(systemState(), 'ss', SEL.data0 | 1)).toMatchObject({ vector: 13, errorCode: SEL.data0 });
  });
  it('DPL must equal CPL', () => {
    expect(loadDataSegment(systemState(), 'ss', SEL.data3 & ~3)).toMatchObject({ vector: 13, errorCode: SEL.data3 & ~3 });
  });
  it('the segment must be writable data', () => {
    const s = systemState({ extraDescriptors: [segmentDescriptor({ type: 0x0 })] });
    expect(loadDataSegment(s, 'ss', sel(EXTRA))).toMatchObject({ vector: 13, errorCode: sel(EXTRA) });
  });
  it('a not-present stack segment faults #SS(selector)', () => {
    const s = systemState({ extraDescriptors: [segmentDescriptor({ type: 0x2, present: false })] });
    expect(loadDataSegment(s, 'ss', sel(EXTRA))).toEqual({ kind: 'fault', vector: 12, errorCode: sel(EXTRA), rule: 'SEG.LOAD.4' });
  });
});

describe('DS/ES/FS/GS loads [SEG.LOAD.3] [SEG.LOAD.5] [SEG.LOAD.6] [SEG.LOAD.7]', () => {
  const extra = [
    segmentDescriptor({ type: 0x8 }), // execute-only code
    segmentDescriptor({ type: 0x2, present: false }),
    segmentDescriptor({ type: 0xe, dpl: 0 }), // conforming readable code, DPL 0
    segmentDescriptor({ type: 0xa, dpl: 0 }), // non-conforming readable code, DPL 0
  ];
  const s3 = systemState({ cpl: 3, extraDescriptors: extra });
  const s0 = systemState({ cpl: 0, extraDescriptors: extra });
  it('a selector beyond the GDT limit faults #GP(selector)', () => {
    expect(loadDataSegment(s0, 'ds', sel(LAYOUT.gdtEntries))).toMatchObject({ vector: 13, errorCode: sel(LAYOUT.gdtEntries) });
  });
  it('a TI=1 selector with no LDT loaded faults #GP(selector) [SEG.TABLE.1]', () => {
    expect(loadDataSegment(s0, 'ds', 0x0c)).toMatchObject({ vector: 13, errorCode: 0x0c });
  });
  it('execute-only code cannot be loaded', () => {
    expect(loadDataSegment(s0, 'ds', sel(EXTRA))).toMatchObject({ vector: 13, errorCode: sel(EXTRA) });
  });
  it('a DPL 0 data segment at CPL 3 faults #GP(selector)', () => {
    expect(loadDataSegment(s3, 'ds', SEL.data0 | 3)).toMatchObject({ vector: 13, errorCode: SEL.data0 });
  });
  it('RPL > DPL faults even at CPL 0', () => {
    expect(loadDataSegment(s0, 'ds', SEL.data1 | 2)).toMatchObject({ vector: 13, errorCode: SEL.data1 & ~3 });
  });
  it('not present faults #NP(selector)', () => {
    expect(loadDataSegment(s0, 'ds', sel(EXTRA + 1))).toEqual({ kind: 'fault', vector: 11, errorCode: sel(EXTRA + 1), rule: 'SEG.LOAD.7' });
  });
  it('conforming readable code of DPL 0 loads at CPL 3, non-conforming does not', () => {
    expect(loadDataSegment(s3, 'ds', sel(EXTRA + 2, 3)).kind).toBe('ok');
    expect(loadDataSegment(s3, 'ds', sel(EXTRA + 3, 3))).toMatchObject({ vector: 13, errorCode: sel(EXTRA + 3) });
  });
  it('a load sets the accessed bit in the descriptor [SEG.ACCESSED.1]', () => {
    const s = systemState({ extraDescriptors: [segmentDescriptor({ type: 0x2 })] });
    expect(readDword(s, LAYOUT.gdt + EXTRA * 8 + 4) & 0x100).toBe(0);
    const after = loaded(loadDataSegment(s, 'gs', sel(EXTRA)));
    expect(readDword(after, LAYOUT.gdt + EXTRA * 8 + 4) & 0x100).toBe(0x100);
    expect(after.segments.gs.attributes & 1).toBe(1);
  });
});

describe('MOV, PUSH and POP of segment registers [SEG.MOV.1] [SEG.PUSH.1] [SEG.POP.1]', () => {
  it('MOV ds, ax loads with checks; MOV eax, ds zero-extends', () => {
    let s = writeRegister(systemState(), 32, 0, 0xffff0000 | SEL.data1);
    const r = execute(s, insn('mov', [sreg('ds'), reg16(0)], { operandSize: 16 }), 0x10002);
    if (r.kind !== 'ok') throw new Error(r.kind);
    expect(r.state.segments.ds.selector).toBe(SEL.data1);
    s = writeRegister(r.state, 32, 3, 0xdeadbeef);
    const m = execute(s, insn('mov', [reg32(3), sreg('ds')]), 0x10004);
    if (m.kind !== 'ok') throw new Error(m.kind);
    expect(m.state.regs[3]).toBe(SEL.data1);
  });
  it('MOV cs, ax is #UD', () => {
    expect(execute(systemState(), insn('mov', [sreg('cs'), reg16(0)], { operandSize: 16 }), 0)).toMatchObject({ kind: 'fault', vector: 6 });
  });
  it('PUSH ds moves ESP by 4 and writes only 16 bits', () => {
    let s = systemState();
    s = loaded(writeMemory(s, 'ss', LAYOUT.stack0 - 4, 32, 0xaaaaaaaa));
    const r = execute(s, insn('push', [sreg('ds')]), 0x10001);
    if (r.kind !== 'ok') throw new Error(r.kind);
    expect(r.state.regs[4]).toBe(LAYOUT.stack0 - 4);
    expect(readDword(r.state, LAYOUT.stack0 - 4)).toBe((0xaaaa0000 | SEL.data0) >>> 0);
  });
  it('POP ss with a bad selector faults and leaves ESP alone', () => {
    let s = systemState();
    s = loaded(writeMemory(s, 'ss', LAYOUT.stack0 - 4, 32, SEL.data3));
    s = { ...s, regs: s.regs.map((v, i) => (i === 4 ? LAYOUT.stack0 - 4 : v)) };
    expect(execute(s, insn('pop', [sreg('ss')]), 0x10001)).toMatchObject({ kind: 'fault', vector: 13, errorCode: SEL.data3 & ~3 });
  });
});

describe('LAR, LSL, VERR, VERW [SEG.PROBE.1] [SEG.PROBE.2] [SEG.PROBE.3] [SEG.PROBE.4] [SEG.PROBE.5]', () => {
  const extra = [segmentDescriptor({ type: 0x2, limit: 0x12, g: false, dpl: 3 }), flatCode(3, false), flatData(0)];
  const run = (s: MachineState, mnemonic: string, selector: number, dest = true) => {
    const st = writeRegister(writeRegister(s, 32, 1, selector), 32, 0, 0x55555555);
    const r = execute(st, insn(mnemonic, dest ? [reg32(0), reg16(1)] : [reg16(1)]), 0x10003);
    if (r.kind !== 'ok') throw new Error(r.kind);
    return { zf: (r.state.eflags & ZF) !== 0, eax: r.state.regs[0]! };
  };
  const s3 = systemState({ cpl: 3, extraDescriptors: extra });
  it('LAR of a DPL 3 data segment: ZF = 1, EAX = high dword & 0x00F0FF00', () => {
    // descriptor high dword: type 2 (0x200), S (0x1000), DPL 3 (0x6000), P (0x8000), B (0x400000) = 0x0040f200
    expect(run(s3, 'lar', sel(EXTRA, 3))).toEqual({ zf: true, eax: 0x0040f200 });
  });
  it('LAR clears limit bits 19..16: flat DPL 3 code (high dword 0x00CFFA00) gives 0x00C0FA00', () => {
    expect(run(s3, 'lar', sel(EXTRA + 1, 3))).toEqual({ zf: true, eax: 0x00c0fa00 });
  });
  it('LSL gives the byte limit', () => {
    expect(run(s3, 'lsl', sel(EXTRA, 3))).toEqual({ zf: true, eax: 0x12 });
  });
  it('a DPL 0 segment is invisible at CPL 3: ZF = 0, destination unchanged', () => {
    expect(run(s3, 'lar', sel(EXTRA + 2, 3))).toEqual({ zf: false, eax: 0x55555555 });
  });
  it('a null or out-of-table selector gives ZF = 0 without a fault', () => {
    expect(run(s3, 'lsl', 0).zf).toBe(false);
    expect(run(s3, 'lsl', sel(200, 3)).zf).toBe(false);
  });
  it('VERR accepts readable code, VERW refuses it and accepts writable data', () => {
    expect(run(s3, 'verr', sel(EXTRA + 1, 3), false).zf).toBe(true);
    expect(run(s3, 'verw', sel(EXTRA + 1, 3), false).zf).toBe(false);
    expect(run(s3, 'verw', sel(EXTRA, 3), false).zf).toBe(true);
  });
});
