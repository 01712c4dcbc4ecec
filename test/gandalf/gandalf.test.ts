// gandalf (the monitor as IA-32 code): it assembles with our assembler to
// nasm's bytes, boots as a Multiboot kernel with its guest as a module,
// runs the teaching kernel's meso build to the transcript the native
// kernel prints on the bare machine, and refuses bad boots with a message.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oracleAvailable } from '../../properties/tools';
import { runBochs } from '../../properties/conformance/oracles';
import { GANDALF_DIR, bootGandalf, buildGandalf, modeDefines } from '../../properties/gandalf/build';
import { rtos, teachMeso } from '../../properties/gandalf/guests';
import { GANDALF_MUTANTS } from '../../properties/gandalf/mutants';
import { readGandalfVcpu } from '../../properties/gandalf/vcpu';
import { checkRefinement } from '../../properties/gandalf/refine';
import { runToEnd, createMachine, bootImage } from '../../properties/machines';
import { assembleFile } from '../../properties/assemble-file';
import { assembleSource } from '../../properties/assemble-file';

const TEACH = join(import.meta.dirname, '..', '..', 'guests', 'teach', 'teach.asm');
const teachNative = (): Uint8Array => assembleFile(TEACH, { format: 'bin', defines: { PIT_DIVISOR: '65535' } });
/** A small guest written inline in a test, assembled as a flat image. */
const flatGuest = (name: string, source: string): Uint8Array => {
  return assembleSource(name, source);
};

describe('gandalf builds', () => {
  it.runIf(oracleAvailable('nasm'))('our assembler gives nasm\'s bytes, for gandalf and a mutant of each file that has one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gandalf-'));
    const oneEach = ['MUTANT_BOOT_SEGMENTS_REACH_MONITOR', 'MUTANT_DPL0_ACCEPTED', 'MUTANT_SHADOW_WRITABLE', 'MUTANT_VIRTUAL_IF_LOST'];
    for (const defines of [{}, ...oneEach.map((d) => ({ [d]: '' })), { MEMORY_MULTI: '' }, { MEMORY_MULTI: '', MUTANT_MULTI_UNSYNCED_KEPT: '' }, { MEMORY_DIRECT: '' }, { MEMORY_DIRECT: '', MUTANT_DIRECT_SELF_MAP: '' },
      { PARA: '' }, { PARA: '', MUTANT_PARA_TABLE_WRITABLE: '' }, { PARA: '', MEMORY_DIRECT: '' },
      { WORLDS: '' }, { WORLDS: '', MUTANT_WORLD_PIC_SHARED: '' }, { WORLDS: '', MEMORY_MULTI: '' }]) {
      const out = join(dir, 'g.bin');
      const args = ['-f', 'bin', '-o', out, ...Object.keys(defines).map((d) => `-D${d}`), 'gandalf.asm'];
      const r = spawnSync('nasm', args, { cwd: GANDALF_DIR, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(Buffer.compare(Buffer.from(buildGandalf(defines)), readFileSync(out)), JSON.stringify(defines)).toBe(0);
    }
  });
  it('each mutant is a different binary', () => {
    const builds: Record<string, string>[] = [{}, { MEMORY_MULTI: '' }, { MEMORY_DIRECT: '' }, { PARA: '' }, { WORLDS: '' },
      ...GANDALF_MUTANTS.map((m) => ({ ...modeDefines(m.mode ?? 'shadow-single'), ...(m.para ? { PARA: '' } : {}), ...(m.worlds === true ? { WORLDS: '' } : {}), [m.define]: '' }))];
    const images = builds.map((d) => Buffer.from(buildGandalf(d)).toString('hex'));
    expect(new Set(images).size).toBe(images.length);
  });
});

describe('[VMM.BOOT.1] [VMM.BOOT.2] [GANDALF.MAP.1] [GANDALF.BOOT.1] [GANDALF.STOP.1] [GANDALF.VCPU.1] [GANDALF.TIME.1] gandalf boots and runs the teaching kernel at ring 1', () => {
  it('the transcript is the native kernel\'s on the bare machine, and gandalf exits through the guest\'s exit port', () => {
    const native = createMachine('impl', 64 * 1024 * 1024);
    bootImage(native, teachNative());
    const bare = runToEnd(native, 20_000_000);
    const g = bootGandalf([teachMeso()]);
    const run = runToEnd(g, 50_000_000);
    expect(run.end).toEqual({ kind: 'exit', code: 1 });
    expect(run.console).toBe(bare.console);
    expect(run.console).toContain('[kernel] pid 4 killed: page fault at 0x00100000 error 0x00000007\n');
    expect(run.console.endsWith('[kernel] all processes exited\n')).toBe(true);
    // The virtual CPU at machine 0x9000 holds what the guest set.
    const v = readGandalfVcpu(g);
    expect(v.magic).toBe(0x46444e47); // 'GNDF'
    expect((v.vcpu.cr0 & 0x80000001) >>> 0).toBe(0x80000001); // the guest turned its paging on
    expect(v.vcpu.idtr).toEqual({ base: 0x110000, limit: 0x7ff }); // guests/teach/config.inc IDT_ADDR, 256 gates
    expect(v.vcpu.tr).toBe(0x28);
    expect(v.exits['emulate lgdt']).toBe(1);
    expect(v.exits['emulate sti']).toBeGreaterThan(0);
    expect(v.exits['page fault']).toBeGreaterThan(0);
  });

  it('the RTOS guest with a 60000-instruction tick prints under gandalf what it prints natively, tick numbers included', () => {
    const native = createMachine('impl', 64 * 1024 * 1024);
    bootImage(native, rtos({ TICK: '60000' }));
    const bare = runToEnd(native, 20_000_000);
    const run = runToEnd(bootGandalf([rtos({ MESO: '', TICK: '60000' })]), 50_000_000);
    expect(run.end).toEqual({ kind: 'exit', code: 1 });
    expect(run.console).toBe(bare.console);
    expect(run.console).toContain('[rtos] task C run 3 at tick 15\n');
  });

  it('without a module, with a module that is not a Multiboot image or does not fit, or with two modules, gandalf says so and exits with 0x7F (status 255)', () => {
    const none = bootGandalf([]);
    const r1 = runToEnd(none, 1_000_000);
    expect(r1.end).toEqual({ kind: 'exit', code: 255 });
    expect(r1.console).toBe('[gandalf] no guest: pass its image as the first Multiboot module\n');
    const junk = bootGandalf([new Uint8Array(64).fill(0x90)]);
    const r2 = runToEnd(junk, 1_000_000);
    expect(r2.end).toEqual({ kind: 'exit', code: 255 });
    expect(r2.console).toBe('[gandalf] the module is not a Multiboot image (no header in its first 8 KiB)\n');
    const big = new Uint8Array(64);
    const view = new DataView(big.buffer);
    // A flat header asking for 32 MiB of bss: more than the 16 MiB partition.
    [0x1badb002, 0x10000, -(0x1badb002 + 0x10000), 0x100000, 0x100000, 0, 0x2100000, 0x100020].forEach((v, i) => view.setUint32(4 * i, v >>> 0, true));
    const r3 = runToEnd(bootGandalf([big]), 1_000_000);
    expect(r3.console).toBe('[gandalf] the guest does not fit its partition\n');
    // Two guests: gandalf runs one (several guests are not built), and says so rather than run the first alone.
    const two = runToEnd(bootGandalf([teachMeso(), teachMeso()]), 1_000_000);
    expect(two.end).toEqual({ kind: 'exit', code: 255 });
    expect(two.console).toBe('[gandalf] more than one module: this gandalf runs one guest (several guests are not built yet)\n');
  });

  it('a guest that names memory beyond its partition (its page directory at 32 MiB, past the 16 MiB partition) is stopped with a message and 0x7F, in every memory mode', () => {
    const source = `bits 32
org 0x100000
    dd 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000), 0x100000, 0x100000, image_end, 0, start
start:
    mov eax, 0x02000000
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov al, [0x1000]
    mov al, 0
    out 0xF4, al
image_end:
`;
    const image = flatGuest('overrun.asm', source);
    const cases: Array<[Record<string, string>, string]> = [
      [{}, 'the guest named memory beyond its partition'],
      [{ MEMORY_MULTI: '' }, 'the guest named memory beyond its partition'],
      [{ MEMORY_DIRECT: '' }, 'direct paging: the page directory is outside the partition'], // MEM.DIRECT.2, at the CR0 write
    ];
    for (const [defines, message] of cases) {
      const g = bootGandalf([image], { defines });
      const run = runToEnd(g, 1_000_000);
      expect(run.end, JSON.stringify(defines)).toEqual({ kind: 'exit', code: 255 });
      expect(run.console).toBe(`[gandalf] stopped: ${message}\n`);
      expect(readGandalfVcpu(g).stopped).toBe(2); // GANDALF.STOP.1: the guest, not the boot
    }
  });

  it('[GANDALF.DIRECT.3] direct paging: a guest whose tables need 5,127 demoted entries runs to its end, as under model/vmm', () => {
    // Five page tables whose 5,120 entries all map the first of them writable, and an identity table for the code.
    const source = `bits 32
org 0x100000
    dd 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000), 0x100000, 0x100000, image_end, 0, start
start:
    mov edi, 0x201000
    mov eax, 3
.identity:
    mov [edi], eax
    add eax, 0x1000
    add edi, 4
    cmp edi, 0x202000
    jb .identity
    mov eax, 0x202003
.aliases:
    mov [edi], eax
    add edi, 4
    cmp edi, 0x207000
    jb .aliases
    mov dword [0x200000], 0x201003
    mov dword [0x200004], 0x202003
    mov dword [0x200008], 0x203003
    mov dword [0x20000C], 0x204003
    mov dword [0x200010], 0x205003
    mov dword [0x200014], 0x206003
    mov eax, 0x200000
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov al, 0
    out 0xF4, al
image_end:
`;
    const image = flatGuest('full.asm', source);
    const refinement = checkRefinement(image, { mode: 'direct' });
    expect(refinement.divergence).toBeNull();
    expect(refinement.end).toBe('exit 1');
    // All 5,120 aliases and the identity entries of the seven table pages lost R/W.
    const g = bootGandalf([image], { defines: { MEMORY_DIRECT: '' } });
    expect(runToEnd(g, 20_000_000).end).toEqual({ kind: 'exit', code: 1 });
    const tables = new DataView(g.readPhysical(0x201000, 0x6000).buffer);
    for (let i = 0; i < 0x1800; i++) {
      const identityOfTable = i >= 0x200 && i <= 0x206;
      expect(tables.getUint32(4 * i, true) & 2, `entry ${i}`).toBe(i >= 0x400 || identityOfTable ? 0 : 2);
    }
  });

  it('[GANDALF.GUEST.1] -DGUEST=path builds the guest in: with no module gandalf runs it to the native transcript; a module given still wins; the bytes are nasm\'s', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gandalf-guest-'));
    const guest = join(dir, 'teach-meso.bin');
    writeFileSync(guest, teachMeso());
    const defines = { GUEST: guest };
    const run = runToEnd(bootGandalf([], { defines }), 50_000_000);
    expect(run.end).toEqual({ kind: 'exit', code: 1 });
    const native = createMachine('impl', 64 * 1024 * 1024);
    bootImage(native, teachNative());
    expect(run.console).toBe(runToEnd(native, 20_000_000).console);
    // The built-in guest is not used when a module is given: here a module that is not an image.
    const withModule = runToEnd(bootGandalf([new Uint8Array(64).fill(0x90)], { defines }), 1_000_000);
    expect(withModule.console).toBe('[gandalf] the module is not a Multiboot image (no header in its first 8 KiB)\n');
    if (oracleAvailable('nasm')) {
      const out = join(dir, 'g.bin');
      const r = spawnSync('nasm', ['-f', 'bin', '-o', out, `-DGUEST=${guest}`, 'gandalf.asm'], { cwd: GANDALF_DIR, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(Buffer.compare(Buffer.from(buildGandalf(defines)), readFileSync(out))).toBe(0);
    }
  });

  it.runIf(oracleAvailable('bochs') && oracleAvailable('nasm'))('[GANDALF.GUEST.1] Bochs (floppy loader, no Multiboot modules) boots the -DGUEST build and prints the native transcript', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gandalf-bochs-'));
    const guest = join(dir, 'teach-meso.bin');
    writeFileSync(guest, teachMeso());
    const native = createMachine('impl', 64 * 1024 * 1024);
    bootImage(native, teachNative());
    const expected = runToEnd(native, 20_000_000).console;
    const r = await runBochs(buildGandalf({ GUEST: guest }), '[kernel] all processes exited');
    expect(r.text).toBe(expected);
  }, 150_000);

  it.runIf(oracleAvailable('qemu-system-i386'))('QEMU boots gandalf (the builds of the three memory modes) with the guest as -initrd and prints the same transcript', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gandalf-qemu-'));
    writeFileSync(join(dir, 'teach-meso.bin'), teachMeso());
    const native = createMachine('impl', 64 * 1024 * 1024);
    bootImage(native, teachNative());
    const expected = runToEnd(native, 20_000_000).console;
    for (const defines of [{}, { MEMORY_MULTI: '' }, { MEMORY_DIRECT: '' }] as Record<string, string>[]) {
      writeFileSync(join(dir, 'gandalf.bin'), buildGandalf(defines));
      const q = spawnSync('qemu-system-i386', ['-kernel', join(dir, 'gandalf.bin'), '-initrd', join(dir, 'teach-meso.bin'), '-display', 'none', '-serial', 'none',
        '-monitor', 'none', '-debugcon', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-m', '64'], { encoding: 'latin1', timeout: 60_000 });
      expect(q.stdout, JSON.stringify(defines)).toBe(expected);
      expect(q.status).toBe(1);
    }
  }, 90_000);
});
