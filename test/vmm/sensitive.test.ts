// The sensitive instructions of spec/sensitive.md, one row at a time: each
// runs at CPL 1 in a small guest kernel under the monitor
// (properties/vmm/ring1-guest.ts), and what the guest sees is checked
// against the row. Expected values come from the manual (SDM vol. 2, the
// instruction pages; vol. 3, 5.8 and 6.12) and from the monitor's layout as
// spec/vmm.md fixes it (VMM.LAYOUT.1/2: GDT in frame 2, IDT in frame 1,
// TSS slot 506, LDT slot 507, at the VMM base 0xFC000000).
import { describe, expect, it } from 'vitest';
import { runRing1, RESULTS, FAULT_COUNT, FAULT_CODE } from '../../properties/vmm/ring1-guest';

const IF = 0x200, IOPL = 0x3000;
const word = (v: number) => v & 0xffff;

describe('sensitive instructions at CPL 1 under the monitor', () => {
  it('[SENS.SGDT.1] SGDT stores the real GDTR: the monitor\'s table at 0xFC002000, limit 512*8-1', () => {
    const r = runRing1('    sgdt [RESULTS]');
    expect(r.end).toBe('exit 1');
    expect(word(r.dword(RESULTS))).toBe(512 * 8 - 1);
    expect(r.dword(RESULTS + 2)).toBe(0xfc002000);
    expect(r.world.vmm.vcpu.gdtr.limit).toBe(9 * 8 - 1); // what the guest loaded: a documented divergence
  });

  it('[SENS.SIDT.1] SIDT stores the real IDTR: the monitor\'s IDT at 0xFC001000, 256 gates', () => {
    const r = runRing1('    sidt [RESULTS]');
    expect(word(r.dword(RESULTS))).toBe(256 * 8 - 1);
    expect(r.dword(RESULTS + 2)).toBe(0xfc001000);
    expect(r.world.vmm.vcpu.idtr.limit).toBe(0x41 * 8 - 1);
  });

  it('[SENS.SLDT.1] SLDT shows the real LDTR: null before the guest\'s LLDT, the monitor\'s slot 507 after it', () => {
    const r = runRing1(`
    sldt ax
    mov [RESULTS], eax
    mov ax, 0x30
    lldt ax
    sldt ax
    mov [RESULTS + 4], eax`);
    expect(word(r.dword(RESULTS))).toBe(0);
    expect(word(r.dword(RESULTS + 4))).toBe(507 * 8);
    expect(r.world.vmm.vcpu.ldtr).toBe(0x30);
  });

  it('[SENS.STR.1] STR shows the monitor\'s TSS selector (slot 506), not the guest\'s LTR operand', () => {
    const r = runRing1(`
    mov ax, 0x28
    ltr ax
    str ax
    mov [RESULTS], eax`);
    expect(word(r.dword(RESULTS))).toBe(506 * 8);
    expect(r.world.vmm.vcpu.tr).toBe(0x28);
  });

  it('[SENS.SMSW.1] SMSW reads the real CR0 (TS clear) while MOV from CR0 traps and shows the virtual one (TS set)', () => {
    const r = runRing1(`
    mov eax, cr0
    or eax, 8
    mov cr0, eax
    smsw ax
    mov [RESULTS], eax
    mov eax, cr0
    mov [RESULTS + 4], eax`);
    expect(word(r.dword(RESULTS))).toBe(0x0011); // PE | ET
    expect(r.dword(RESULTS + 4) & 0xffff).toBe(0x0019); // PE | TS | ET
  });

  it('[SENS.PUSHF.1] PUSHF shows the guest\'s own IF (the monitor mirrors it in the real IF) and IOPL 0', () => {
    const r = runRing1(`
    sti
    pushfd
    pop eax
    mov [RESULTS], eax
    cli
    pushfd
    pop eax
    mov [RESULTS + 4], eax`);
    expect(r.dword(RESULTS) & (IF | IOPL)).toBe(IF);
    expect(r.dword(RESULTS + 4) & (IF | IOPL)).toBe(0);
    expect(r.world.vmm.exits['emulate sti']).toBe(1);
  });

  it('[SENS.POPF.1] POPF at CPL 1 > IOPL 0 silently leaves IF and IOPL alone and loads the other flags', () => {
    const r = runRing1(`
    push dword 0x3203
    popfd
    pushfd
    pop eax
    mov [RESULTS], eax`);
    expect(r.dword(RESULTS) & (IF | IOPL | 1)).toBe(1); // CF loaded; IF and IOPL unchanged (0)
    expect(r.dword(FAULT_COUNT)).toBe(0); // no fault, and no exit: the monitor never saw it
    expect(Object.keys(r.world.vmm.exits).some((k) => k.includes('popf'))).toBe(false);
  });

  it('[SENS.SEGREG.1] MOV from CS and PUSH SS show the guest\'s own selectors, with RPL 1', () => {
    const r = runRing1(`
    mov ax, cs
    mov [RESULTS], eax
    push ss
    pop eax
    mov [RESULTS + 4], eax`);
    expect(word(r.dword(RESULTS))).toBe(0x09);
    expect(word(r.dword(RESULTS + 4))).toBe(0x11);
  });

  it('[SENS.SEGREG.2] loading a DPL-0 data segment faults #GP(selector); a 4-GiB one loads with its limit below the VMM base', () => {
    const r = runRing1(`
    mov dword [resume], .after
    mov ax, 0x18
    mov ds, ax
.after:
    mov ax, 0x20
    mov fs, ax`);
    expect(r.dword(FAULT_COUNT)).toBe(1);
    expect(r.world.vmm.exits['reflect 13']).toBe(1); // a #GP, reflected to the guest's handler
    expect(r.dword(FAULT_CODE)).toBe(0x18);
    expect(r.world.machine.segments.fs.selector).toBe(0x20);
    expect(r.world.machine.segments.fs.limit).toBe(0xfbffffff);
  });

  it('[SENS.FAR.1] a far JMP reaches another DPL-1 code segment; a far JMP to the guest\'s TSS faults #GP(selector)', () => {
    const r = runRing1(`
    jmp 0x39:.other
.other:
    mov ax, cs
    mov [RESULTS], eax
    mov dword [resume], .after
    jmp 0x28:0
.after:`);
    expect(word(r.dword(RESULTS))).toBe(0x39);
    expect(r.dword(FAULT_COUNT)).toBe(1);
    expect(r.dword(FAULT_CODE)).toBe(0x28);
  });

  it('[SENS.FAR.2] a far RET to an RPL-0 selector faults #GP(selector); to RPL 1 it returns', () => {
    const r = runRing1(`
    push dword 0x09
    push dword .back
    retf
.back:
    mov dword [resume], .after
    push dword 0x08
    push dword .after
    retf
.after:`);
    expect(r.end).toBe('exit 1');
    expect(r.dword(FAULT_COUNT)).toBe(1);
    expect(r.dword(FAULT_CODE)).toBe(0x08);
  });

  it('[SENS.INT.1] INT to a guest vector with a DPL-1 gate enters the guest directly; INT 3 exits and is reflected', () => {
    const r = runRing1(`
    int 0x40
    mov dword [resume], .after
    int3
.after:`);
    expect(r.dword(RESULTS + 0x10c)).toBe(1); // the guest's own handler ran
    expect(Object.keys(r.world.vmm.exits).filter((k) => k === 'INT 64' || k === 'interrupt 64')).toEqual([]);
    expect(r.world.vmm.exits['INT 3']).toBe(1);
    expect(r.dword(FAULT_COUNT)).toBe(1);
  });

  it('[SENS.INT.1] [VMM.REFLECT.2] INT n beyond the guest\'s IDT limit gives the guest #GP(vector * 8 + 2), as the processor would', () => {
    const r = runRing1(`
    mov dword [resume], .after
    int 0x50
.after:`);
    expect(r.world.vmm.stopped).toBeNull();
    expect(r.dword(FAULT_COUNT)).toBe(1);
    expect(r.dword(FAULT_CODE)).toBe(0x50 * 8 + 2);
  });

  it('[SENS.IRET.1] IRET at CPL 1 does not set IF from the frame; the meso patch (STI before IRET) does, through the monitor', () => {
    const r = runRing1(`
    cli
    pushfd
    pop eax
    or eax, 0x200
    push eax
    push cs
    push dword .plain
    iretd
.plain:
    pushfd
    pop eax
    mov [RESULTS], eax
    pushfd
    pop eax
    or eax, 0x200
    push eax
    push cs
    push dword .patched
    test byte [esp + 9], 2
    jz .stay_off
    sti
.stay_off:
    iretd
.patched:
    pushfd
    pop eax
    mov [RESULTS + 4], eax`);
    expect(r.dword(RESULTS) & IF).toBe(0);
    expect(r.dword(RESULTS + 4) & IF).toBe(IF);
  });
});

describe('the time-stamp counter, MSRs and SYSENTER at CPL 1 under the monitor (issue 14)', () => {
  it('[SENS.RDTSC.1] RDTSC with CR4.TSD clear runs at ring 1 without an exit and reads the machine\'s counter', () => {
    const r = runRing1(`
    mov [RESULTS], eax
    rdtsc
    mov ebx, eax
    mov esi, edx
    nop
    rdtsc
    mov [RESULTS], ebx
    mov [RESULTS + 4], esi
    mov [RESULTS + 8], eax`);
    expect(r.end).toBe('exit 1');
    expect(r.world.vmm.exits['emulate rdtsc']).toBeUndefined();
    // The first RDTSC, two MOVs and the NOP retire between the reads (no exit: RESULTS was touched
    // first, so no shadow page fault, whose monitor IRET would count too): exactly 4.
    expect(r.dword(RESULTS + 8) - r.dword(RESULTS)).toBe(4);
    expect(r.dword(RESULTS + 4)).toBe(0);
  });

  it('[VMM.TSC.1] with the guest\'s CR4.TSD set the real TSD is set too: RDTSC at ring 1 traps and is emulated', () => {
    const r = runRing1(`
    mov eax, cr4
    or eax, 4
    mov cr4, eax
    rdtsc
    mov [RESULTS], eax
    mov [RESULTS + 4], edx`);
    expect(r.end).toBe('exit 1');
    expect(r.world.vmm.exits['emulate rdtsc']).toBe(1);
    expect(r.world.machine.cr4 & 4).toBe(4);
    expect(r.dword(RESULTS)).toBeGreaterThan(0);
    expect(r.dword(RESULTS + 4)).toBe(0);
  });

  it('[VMM.MSR.1] WRMSR/RDMSR of SYSENTER_ESP are emulated on a virtual register; the real MSR stays 0; an unknown MSR is the guest\'s #GP(0)', () => {
    const r = runRing1(`
    mov ecx, 0x175
    mov eax, 0x00123456
    xor edx, edx
    wrmsr
    xor eax, eax
    mov edx, 5
    rdmsr
    mov [RESULTS], eax
    mov [RESULTS + 4], edx
    mov dword [resume], .after
    mov ecx, 0x1b
    rdmsr
.after:`);
    expect(r.end).toBe('exit 1');
    expect([r.dword(RESULTS), r.dword(RESULTS + 4)]).toEqual([0x123456, 0]);
    expect(r.world.vmm.vcpu.sysenter).toEqual({ cs: 0, esp: 0x123456, eip: 0 });
    expect(r.world.machine.msrs.sysenterEsp).toBe(0);
    expect(r.dword(FAULT_COUNT)).toBe(1);
    expect(r.dword(FAULT_CODE)).toBe(0);
  });

  it('[VMM.MSR.2] SYSENTER in the guest faults #GP(0) (the real SYSENTER_CS is null) and is reflected: it never enters ring 0', () => {
    const r = runRing1(`
    mov ecx, 0x174
    mov eax, 0x09
    xor edx, edx
    wrmsr
    mov dword [resume], .after
    sysenter
.after:
    mov ax, cs
    mov [RESULTS], eax`);
    expect(r.end).toBe('exit 1');
    expect(r.world.vmm.vcpu.sysenter?.cs).toBe(9);
    expect(r.world.machine.msrs.sysenterCs).toBe(0);
    expect(r.dword(FAULT_COUNT)).toBe(1);
    expect(r.dword(FAULT_CODE)).toBe(0);
    expect(r.dword(RESULTS) & 3).toBe(1);
  });
});
