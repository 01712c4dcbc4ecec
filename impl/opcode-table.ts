// The opcode table of impl's decoder: for each one-byte opcode (primary) and
// each 0F-escaped opcode (secondary), how the instruction is laid out and
// which executor runs it. Groups are arrays indexed by ModRM.reg. 'ud' marks
// encodings the architecture defines as invalid (#UD); a missing entry is
// valid IA-32 outside this machine (a model error).
import { type Exec, ES, CS, SS, DS, FS, GS } from './cpu';
import { ud } from './faults';
import * as alu from './ops/alu';
import * as shift from './ops/shift';
import * as mul from './ops/multiply';
import * as bits from './ops/bits';
import * as move from './ops/move';
import * as strings from './ops/strings';
import * as control from './ops/control';
import * as far from './ops/far';
import * as system from './ops/system';
import * as io from './ops/io';
import * as msr from './ops/msr';
import * as fpu from './ops/fpu';
import { ESCAPED_UNDEFINED } from '../model/isa/opcodes';

export type ImmediateKind = 'none' | 'byte' | 'signed-byte' | 'full' | 'word' | 'enter' | 'far' | 'offset'
  | 'relative-byte' | 'relative';

export interface Form {
  name: string;
  exec: Exec;
  modrm: boolean;
  immediate: ImmediateKind;
  /** Immediate value when none is encoded (the count 1 of D0/D1). */
  fixedImmediate: number;
  /** Operates on bytes whatever the operand size. */
  byte: boolean;
  /** Fixed operand size in bytes (0: the instruction's operand size). */
  fixedSize: number;
  variant: number;
  imm2: number;
  lockable: boolean;
  memoryOnly: boolean;
  registerForm: boolean;
  opcodeRegister?: 'reg' | 'rm';
  accumulator: boolean;
  segmentRegister?: number;
}
export type Member = Form | 'ud' | undefined;
export type Entry = Member | Member[];

function form(name: string, exec: Exec, options: Partial<Form> = {}): Form {
  return {
    name, exec, modrm: false, immediate: 'none', fixedImmediate: 0, byte: false, fixedSize: 0, variant: 0, imm2: 0,
    lockable: false, memoryOnly: false, registerForm: false, accumulator: false, ...options,
  };
}
const withModrm = (name: string, exec: Exec, options: Partial<Form> = {}): Form => form(name, exec, { modrm: true, ...options });

export const primary: Entry[] = new Array(256).fill(undefined);
export const secondary: Entry[] = new Array(256).fill(undefined);

// ALU family: ADD OR ADC SBB AND SUB XOR CMP at 00..3D.
const ALU_NAMES = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
ALU_NAMES.forEach((name, op) => {
  const base = op * 8, lockable = op !== 7;
  primary[base] = withModrm(name, alu.aluRmReg, { byte: true, variant: op, lockable });
  primary[base + 1] = withModrm(name, alu.aluRmReg, { variant: op, lockable });
  primary[base + 2] = withModrm(name, alu.aluRegRm, { byte: true, variant: op });
  primary[base + 3] = withModrm(name, alu.aluRegRm, { variant: op });
  primary[base + 4] = form(name, alu.aluRmImm, { byte: true, variant: op, immediate: 'byte', accumulator: true });
  primary[base + 5] = form(name, alu.aluRmImm, { variant: op, immediate: 'full', accumulator: true });
});
const aluGroup = (byte: boolean, immediate: ImmediateKind): Member[] =>
  ALU_NAMES.map((name, op) => withModrm(name, alu.aluRmImm, { byte, immediate, variant: op, lockable: op !== 7 }));
primary[0x80] = aluGroup(true, 'byte');
primary[0x81] = aluGroup(false, 'full');
primary[0x82] = aluGroup(true, 'byte');
primary[0x83] = aluGroup(false, 'signed-byte');

// Segment register pushes and pops.
([[0x06, 0x07, ES], [0x0e, -1, CS], [0x16, 0x17, SS], [0x1e, 0x1f, DS]] as const).forEach(([pushOp, popOp, seg]) => {
  primary[pushOp] = form('push', system.pushSegment, { segmentRegister: seg });
  if (popOp >= 0) primary[popOp] = form('pop', system.popSegment, { segmentRegister: seg });
});
secondary[0xa0] = form('push', system.pushSegment, { segmentRegister: FS });
secondary[0xa1] = form('pop', system.popSegment, { segmentRegister: FS });
secondary[0xa8] = form('push', system.pushSegment, { segmentRegister: GS });
secondary[0xa9] = form('pop', system.popSegment, { segmentRegister: GS });

primary[0x27] = form('daa', bits.decimalAdjust, { variant: 0 });
primary[0x2f] = form('das', bits.decimalAdjust, { variant: 1 });
primary[0x37] = form('aaa', bits.asciiAdjust, { variant: 0 });
primary[0x3f] = form('aas', bits.asciiAdjust, { variant: 1 });

for (let r = 0; r < 8; r++) {
  primary[0x40 + r] = form('inc', alu.incrementRegister, { variant: 0, opcodeRegister: 'reg' });
  primary[0x48 + r] = form('dec', alu.incrementRegister, { variant: 1, opcodeRegister: 'reg' });
  primary[0x50 + r] = form('push', move.pushRegister, { opcodeRegister: 'reg' });
  primary[0x58 + r] = form('pop', move.popRegister, { opcodeRegister: 'reg' });
  primary[0xb0 + r] = form('mov', move.moveRmImm, { byte: true, immediate: 'byte', opcodeRegister: 'rm' });
  primary[0xb8 + r] = form('mov', move.moveRmImm, { immediate: 'full', opcodeRegister: 'rm' });
  if (r > 0) primary[0x90 + r] = form('xchg', move.exchange, { opcodeRegister: 'rm' });
  secondary[0xc8 + r] = form('bswap', move.byteSwap, { opcodeRegister: 'reg' });
}
primary[0x90] = form('nop', () => {});
primary[0x60] = form('pusha', move.pushAll);
primary[0x61] = form('popa', move.popAll);
primary[0x62] = withModrm('bound', system.checkBounds, { memoryOnly: true });
primary[0x68] = form('push', move.pushImmediate, { immediate: 'full' });
primary[0x6a] = form('push', move.pushImmediate, { immediate: 'signed-byte' });
primary[0x69] = withModrm('imul', mul.multiplySignedInto, { immediate: 'full', imm2: 1 });
primary[0x6b] = withModrm('imul', mul.multiplySignedInto, { immediate: 'signed-byte', imm2: 1 });
secondary[0xaf] = withModrm('imul', mul.multiplySignedInto);

// String instructions: byte form then operand-size form.
([[0x6c, 'ins', strings.inputString], [0x6e, 'outs', strings.outputString], [0xa4, 'movs', strings.moveString],
  [0xa6, 'cmps', strings.compareString], [0xaa, 'stos', strings.storeString], [0xac, 'lods', strings.loadString],
  [0xae, 'scas', strings.scanString]] as const).forEach(([op, name, exec]) => {
  primary[op] = form(name, exec, { byte: true });
  primary[op + 1] = form(name, exec);
});

for (let cc = 0; cc < 16; cc++) {
  primary[0x70 + cc] = form('jcc', control.jumpConditional, { variant: cc, immediate: 'relative-byte' });
  secondary[0x80 + cc] = form('jcc', control.jumpConditional, { variant: cc, immediate: 'relative' });
  secondary[0x40 + cc] = withModrm('cmovcc', move.conditionalMove, { variant: cc });
  secondary[0x90 + cc] = withModrm('setcc', move.setOnCondition, { variant: cc, byte: true });
}

primary[0x84] = withModrm('test', alu.testRmReg, { byte: true });
primary[0x85] = withModrm('test', alu.testRmReg);
primary[0xa8] = form('test', alu.testRmImm, { byte: true, immediate: 'byte', accumulator: true });
primary[0xa9] = form('test', alu.testRmImm, { immediate: 'full', accumulator: true });
primary[0x86] = withModrm('xchg', move.exchange, { byte: true, lockable: true });
primary[0x87] = withModrm('xchg', move.exchange, { lockable: true });
primary[0x88] = withModrm('mov', move.moveRmReg, { byte: true });
primary[0x89] = withModrm('mov', move.moveRmReg);
primary[0x8a] = withModrm('mov', move.moveRegRm, { byte: true });
primary[0x8b] = withModrm('mov', move.moveRegRm);
primary[0x8c] = withModrm('mov', system.moveFromSegment);
primary[0x8d] = withModrm('lea', move.loadEffectiveAddress, { memoryOnly: true });
primary[0x8e] = withModrm('mov', system.moveToSegment);
primary[0x8f] = [withModrm('pop', move.popRM), 'ud', 'ud', 'ud', 'ud', 'ud', 'ud', 'ud'];
primary[0x98] = form('cbw', move.convert, { variant: 0 });
primary[0x99] = form('cwd', move.convert, { variant: 1 });
primary[0x9a] = form('callf', far.farDirect, { variant: 1, immediate: 'far' });
primary[0x9b] = form('wait', fpu.coprocessorWait);
for (let op = 0xd8; op <= 0xdf; op++) primary[op] = withModrm('esc', fpu.coprocessorEscape, { variant: op });
primary[0x9c] = form('pushf', system.pushFlags);
primary[0x9d] = form('popf', system.popFlags);
primary[0x9e] = form('sahf', bits.storeAHIntoFlags);
primary[0x9f] = form('lahf', bits.loadFlagsIntoAH);
primary[0xa0] = form('mov', move.moveRegRm, { byte: true, immediate: 'offset' });
primary[0xa1] = form('mov', move.moveRegRm, { immediate: 'offset' });
primary[0xa2] = form('mov', move.moveRmReg, { byte: true, immediate: 'offset' });
primary[0xa3] = form('mov', move.moveRmReg, { immediate: 'offset' });

const shiftGroup = (exec: Exec, byte: boolean, immediate: ImmediateKind, fixedImmediate = 0): Member[] =>
  ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'].map((name, op) =>
    withModrm(name, exec, { byte, immediate, fixedImmediate, variant: op }));
primary[0xc0] = shiftGroup(shift.shiftByImmediate, true, 'byte');
primary[0xc1] = shiftGroup(shift.shiftByImmediate, false, 'byte');
primary[0xd0] = shiftGroup(shift.shiftByImmediate, true, 'none', 1);
primary[0xd1] = shiftGroup(shift.shiftByImmediate, false, 'none', 1);
primary[0xd2] = shiftGroup(shift.shiftByCL, true, 'none');
primary[0xd3] = shiftGroup(shift.shiftByCL, false, 'none');
secondary[0xa4] = withModrm('shld', shift.doubleShift, { variant: 0, immediate: 'byte' });
secondary[0xa5] = withModrm('shld', shift.doubleShift, { variant: 0, imm2: 1 });
secondary[0xac] = withModrm('shrd', shift.doubleShift, { variant: 1, immediate: 'byte' });
secondary[0xad] = withModrm('shrd', shift.doubleShift, { variant: 1, imm2: 1 });

primary[0xc2] = form('ret', control.nearReturn, { immediate: 'word' });
primary[0xc3] = form('ret', control.nearReturn);
primary[0xc4] = withModrm('les', move.loadFarPointer, { imm2: ES, memoryOnly: true });
primary[0xc5] = withModrm('lds', move.loadFarPointer, { imm2: DS, memoryOnly: true });
secondary[0xb2] = withModrm('lss', move.loadFarPointer, { imm2: SS, memoryOnly: true });
secondary[0xb4] = withModrm('lfs', move.loadFarPointer, { imm2: FS, memoryOnly: true });
secondary[0xb5] = withModrm('lgs', move.loadFarPointer, { imm2: GS, memoryOnly: true });
primary[0xc6] = [withModrm('mov', move.moveRmImm, { byte: true, immediate: 'byte' }), 'ud', 'ud', 'ud', 'ud', 'ud', 'ud', 'ud'];
primary[0xc7] = [withModrm('mov', move.moveRmImm, { immediate: 'full' }), 'ud', 'ud', 'ud', 'ud', 'ud', 'ud', 'ud'];
primary[0xc8] = form('enter', move.enter, { immediate: 'enter' });
primary[0xc9] = form('leave', move.leave);
primary[0xca] = form('retf', far.farReturn, { immediate: 'word' });
primary[0xcb] = form('retf', far.farReturn);
primary[0xcc] = form('int3', system.breakpoint);
primary[0xcd] = form('int', system.softwareInterrupt, { immediate: 'byte' });
primary[0xce] = form('into', system.interruptOnOverflow);
primary[0xcf] = form('iret', far.interruptReturn);
primary[0xd4] = form('aam', bits.asciiAdjustMultiply, { immediate: 'byte' });
primary[0xd5] = form('aad', bits.asciiAdjustDivide, { immediate: 'byte' });
// D6 is SALC on real processors (undocumented): not implemented, a model error as in the model (ENC.UNSUPPORTED.1).
primary[0xd6] = undefined;
primary[0xd7] = form('xlat', move.translateByte);
['loopne', 'loope', 'loop', 'jecxz'].forEach((name, variant) => {
  primary[0xe0 + variant] = form(name, control.loop, { variant, immediate: 'relative-byte' });
});
primary[0xe4] = form('in', io.input, { byte: true, immediate: 'byte' });
primary[0xe5] = form('in', io.input, { immediate: 'byte' });
primary[0xe6] = form('out', io.output, { byte: true, immediate: 'byte' });
primary[0xe7] = form('out', io.output, { immediate: 'byte' });
primary[0xec] = form('in', io.input, { byte: true, imm2: 1 });
primary[0xed] = form('in', io.input, { imm2: 1 });
primary[0xee] = form('out', io.output, { byte: true, imm2: 1 });
primary[0xef] = form('out', io.output, { imm2: 1 });
primary[0xe8] = form('call', control.callRelative, { immediate: 'relative' });
primary[0xe9] = form('jmp', control.jumpRelative, { immediate: 'relative' });
primary[0xea] = form('jmpf', far.farDirect, { variant: 0, immediate: 'far' });
primary[0xeb] = form('jmp', control.jumpRelative, { immediate: 'relative-byte' });
primary[0xf4] = form('hlt', system.halt);
primary[0xf5] = form('cmc', bits.setCarry, { variant: 2 });
primary[0xf8] = form('clc', bits.setCarry, { variant: 0 });
primary[0xf9] = form('stc', bits.setCarry, { variant: 1 });
primary[0xfa] = form('cli', system.setInterruptFlag, { variant: 0 });
primary[0xfb] = form('sti', system.setInterruptFlag, { variant: 1 });
primary[0xfc] = form('cld', system.setDirectionFlag, { variant: 0 });
primary[0xfd] = form('std', system.setDirectionFlag, { variant: 1 });

const unaryGroup = (byte: boolean, immediate: ImmediateKind): Member[] => [
  withModrm('test', alu.testRmImm, { byte, immediate }),
  withModrm('test', alu.testRmImm, { byte, immediate }),
  withModrm('not', alu.complement, { byte, lockable: true }),
  withModrm('neg', alu.negate, { byte, lockable: true }),
  withModrm('mul', mul.multiplyAccumulator, { byte, variant: 4 }),
  withModrm('imul', mul.multiplyAccumulator, { byte, variant: 5 }),
  withModrm('div', mul.divideAccumulator, { byte, variant: 6 }),
  withModrm('idiv', mul.divideAccumulator, { byte, variant: 7 }),
];
primary[0xf6] = unaryGroup(true, 'byte');
primary[0xf7] = unaryGroup(false, 'full');
primary[0xfe] = [withModrm('inc', alu.incrementRM, { byte: true, variant: 0, lockable: true }),
  withModrm('dec', alu.incrementRM, { byte: true, variant: 1, lockable: true }), 'ud', 'ud', 'ud', 'ud', 'ud', 'ud'];
primary[0xff] = [
  withModrm('inc', alu.incrementRM, { variant: 0, lockable: true }),
  withModrm('dec', alu.incrementRM, { variant: 1, lockable: true }),
  withModrm('call', control.callIndirect),
  withModrm('callf', far.farIndirect, { variant: 1, memoryOnly: true }),
  withModrm('jmp', control.jumpIndirect),
  withModrm('jmpf', far.farIndirect, { variant: 0, memoryOnly: true }),
  withModrm('push', move.pushRM),
  'ud',
];

// 0F-escaped system instructions.
secondary[0x00] = [
  withModrm('sldt', system.storeSystemWord, { variant: 0 }),
  withModrm('str', system.storeSystemWord, { variant: 1 }),
  withModrm('lldt', system.loadLocalDescriptorTable),
  withModrm('ltr', system.loadTaskRegister),
  withModrm('verr', system.verifySegment, { variant: 4 }),
  withModrm('verw', system.verifySegment, { variant: 5 }),
  'ud', 'ud',
];
secondary[0x01] = [
  withModrm('sgdt', system.storeTableRegister, { variant: 0, memoryOnly: true }),
  withModrm('sidt', system.storeTableRegister, { variant: 1, memoryOnly: true }),
  withModrm('lgdt', system.loadTableRegister, { variant: 2, memoryOnly: true }),
  withModrm('lidt', system.loadTableRegister, { variant: 3, memoryOnly: true }),
  withModrm('smsw', system.storeSystemWord, { variant: 4 }),
  'ud',
  withModrm('lmsw', system.loadMachineStatusWord),
  withModrm('invlpg', system.invalidateTlbEntry, { memoryOnly: true }),
];
secondary[0x02] = withModrm('lar', system.loadAccessOrLimit, { variant: 0 });
secondary[0x03] = withModrm('lsl', system.loadAccessOrLimit, { variant: 1 });
secondary[0x06] = form('clts', system.clearTaskSwitched);
secondary[0x08] = form('invd', system.writeBackInvalidate);
secondary[0x09] = form('wbinvd', system.writeBackInvalidate);
secondary[0x0b] = 'ud';
// 0F 04, 0F 0A and 0F 0C have no instruction in the IA-32 opcode map: #UD.
secondary[0x04] = 'ud';
secondary[0x0a] = 'ud';
secondary[0x0c] = 'ud';
secondary[0x20] = withModrm('mov', system.moveControlRegister, { variant: 0, registerForm: true });
secondary[0x22] = withModrm('mov', system.moveControlRegister, { variant: 1, registerForm: true });
secondary[0xa2] = form('cpuid', system.cpuIdentification);
secondary[0xa3] = withModrm('bt', bits.bitTest, { variant: 4 });
secondary[0xab] = withModrm('bts', bits.bitTest, { variant: 5, lockable: true });
secondary[0xb3] = withModrm('btr', bits.bitTest, { variant: 6, lockable: true });
secondary[0xbb] = withModrm('btc', bits.bitTest, { variant: 7, lockable: true });
secondary[0xba] = [undefined, undefined, undefined, undefined,
  ...['bt', 'bts', 'btr', 'btc'].map((name, i) =>
    withModrm(name, bits.bitTest, { variant: 4 + i, immediate: 'byte' as const, imm2: 1, lockable: i > 0 }))];
secondary[0xba] = (secondary[0xba] as Member[]).map((m) => m ?? 'ud');
secondary[0xbc] = withModrm('bsf', bits.bitScan, { variant: 0 });
secondary[0xbd] = withModrm('bsr', bits.bitScan, { variant: 1 });
secondary[0xb6] = withModrm('movzx', move.moveExtend, { variant: 0, imm2: 1 });
secondary[0xb7] = withModrm('movzx', move.moveExtend, { variant: 0, imm2: 2 });
secondary[0xbe] = withModrm('movsx', move.moveExtend, { variant: 1, imm2: 1 });
secondary[0xbf] = withModrm('movsx', move.moveExtend, { variant: 1, imm2: 2 });
secondary[0xb0] = withModrm('cmpxchg', move.compareExchange, { byte: true, lockable: true });
secondary[0xb1] = withModrm('cmpxchg', move.compareExchange, { lockable: true });
secondary[0xc0] = withModrm('xadd', move.exchangeAndAdd, { byte: true, lockable: true });
secondary[0xc1] = withModrm('xadd', move.exchangeAndAdd, { lockable: true });
// UD1 reads its ModRM (and any displacement) before raising #UD, as the model decodes it.
secondary[0xb9] = withModrm('ud1', ud);
// The multi-byte NOP 0F 1F /0 and the hint NOPs 0F 18..0F 1F: the r/m operand is never accessed.
for (let op = 0x18; op <= 0x1f; op++) secondary[op] = withModrm('nop', () => {});
primary[0xf1] = form('int1', system.debugTrap);
secondary[0x21] = withModrm('mov', system.moveDebugRegister, { variant: 0, registerForm: true });
secondary[0x23] = withModrm('mov', system.moveDebugRegister, { variant: 1, registerForm: true });
secondary[0x31] = form('rdtsc', msr.readTimeStampCounter);
secondary[0x32] = form('rdmsr', msr.readModelSpecific);
secondary[0x30] = form('wrmsr', msr.writeModelSpecific);
secondary[0x34] = form('sysenter', msr.fastSystemCall);
secondary[0x35] = form('sysexit', msr.fastSystemReturn);
primary[0x63] = withModrm('arpl', system.adjustRpl, { fixedSize: 2 });
secondary[0xc7] = ['ud', withModrm('cmpxchg8b', move.compareExchange8, { memoryOnly: true, lockable: true }), 'ud', 'ud', 'ud', 'ud', 'ud', 'ud'];
// Opcodes of extensions this CPU does not have, unassigned slots and UD0: #UD (shared list, model/isa/opcodes.ts).
for (const op of ESCAPED_UNDEFINED.keys()) secondary[op] = 'ud';
