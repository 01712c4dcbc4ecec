// Errors: each kind names the right file, line and column and says what is
// wrong; several are reported at once; a bad source leaves no output file.
// Expected positions are counted by hand from the sources below.
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleText } from '../../model/isa/asm/assemble';
import { formatError } from '../../model/isa/asm/source';

function errorsOf(files: Record<string, string>, main = 'main.asm', defines: Record<string, string> = {}): string[] {
  const r = assembleText(files, main, { format: 'bin', defines });
  if (r.kind === 'ok') throw new Error('expected errors, got bytes');
  return r.errors.map(formatError);
}

describe('assembler errors', () => {
  test.each([
    ['unknown mnemonic', 'bits 32\n  movv eax, 1\n', 'main.asm:2:3: unknown instruction \'movv\''],
    ['no form takes the operands', 'bits 32\nadd eax, cl\n', "main.asm:2:1: no form of 'add' takes (reg32, reg8)"],
    ['undefined label', 'bits 32\nmov eax, 1\njmp nowhere\n', "main.asm:3:5: undefined symbol 'nowhere'"],
    ['undefined local label', 'f:\n  jmp .out\n', "main.asm:2:7: undefined symbol 'f.out'"],
    ['macro argument count', '%macro two 2\n  db %1, %2\n%endmacro\n  two 1\n', "main.asm:4:1: macro 'two' takes 2 arguments, got 1"],
    ['unterminated %if', 'bits 32\n%ifdef X\nnop\n', 'main.asm:2:1: unterminated %if (missing %endif)'],
    ['%endif without %if', 'nop\n%endif\n', 'main.asm:2:1: %endif without a matching %if'],
    ['label defined twice', 'a: nop\na: nop\n', "main.asm:2:1: label 'a' is already defined at line 1"],
    ['extern is refused', 'extern printf\n', "main.asm:1:1: 'extern' is not supported: the assembler links nothing, every symbol must be defined in the source"],
    ['operation size not specified', 'bits 32\ninc [eax]\n', "main.asm:2:1: operation size not specified for 'inc'"],
    ['short jump out of range', 'a: times 200 nop\njmp short a\n', 'main.asm:2:1: short jump is out of range (jmp reaches only -128..127 bytes)'],
    ['times with an undefined count', 'times n db 0\n', "main.asm:1:7: undefined symbol 'n'"],
    ['division by zero', 'dd 1 / 0\n', 'main.asm:1:6: division by zero'],
    ['unterminated string', "db 'abc\n", 'main.asm:1:4: unterminated string (missing closing \')'],
    ['bad number', 'db 0x1g\n', "main.asm:1:4: invalid number '0x1g'"],
    ['esp as index', 'lea eax, [ebx+esp*2]\n', 'main.asm:1:11: esp cannot be an index register'],
    ['a register 16-bit addressing cannot use', 'mov al, [bx+cx]\n', 'main.asm:1:13: only 32-bit registers and BX, BP, SI, DI can address memory, not cx'],
    ['two 16-bit bases', 'mov al, [bx+bp]\n', 'main.asm:1:10: a 16-bit address is BX or BP plus SI or DI'],
    ['16-bit and 32-bit registers mixed', 'mov al, [bx+esi]\n', 'main.asm:1:10: 16-bit and 32-bit registers cannot be mixed in an address'],
    ['address arithmetic', 'a: dd a * 2\n', "main.asm:1:9: operator '*' may only be applied to numbers, not to an address"],
  ])('%s', (_name, source, expected) => {
    expect(errorsOf({ 'main.asm': source })).toContain(expected);
  });

  test('errors in an included file name that file', () => {
    const errors = errorsOf({ 'main.asm': 'nop\n%include "lib/defs.inc"\n', 'lib/defs.inc': 'x equ 1\n  bogus eax\n' });
    expect(errors).toEqual(["lib/defs.inc:2:3: unknown instruction 'bogus'"]);
  });

  test('a missing include is reported at the %include line', () => {
    expect(errorsOf({ 'main.asm': '%include "nope.inc"\n' })).toEqual(["main.asm:1:10: cannot read included file 'nope.inc' (looked for nope.inc)"]);
  });

  test('several errors are reported at once', () => {
    const errors = errorsOf({ 'main.asm': 'bits 32\nfoo eax\nlea eax, [esp*2]\nmov eax, [bx+bp]\n' });
    expect(errors).toHaveLength(3);
    expect(errors.map((e) => e.split(':').slice(0, 2).join(':'))).toEqual(['main.asm:2', 'main.asm:3', 'main.asm:4']);
  });

  test('-D defines select %ifdef branches', () => {
    expect(errorsOf({ 'main.asm': '%ifdef BAD\nbroken!\n%endif\nnop\n' }, 'main.asm', { BAD: '' })).toEqual(["main.asm:2:1: unknown instruction 'broken'"]);
  });
});

describe('the asm command', () => {
  test('a bad source exits 1 with the messages and leaves no output file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesovirt-asm-'));
    try {
      const src = join(dir, 'bad.asm');
      const out = join(dir, 'bad.bin');
      writeFileSync(src, 'bits 32\nnop\njmp missing\n');
      const r = spawnSync('node', ['bin/mesovirt.js', 'asm', src, '-o', out, '--format', 'bin'], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`${src}:3:5: undefined symbol 'missing'`);
      expect(existsSync(out)).toBe(false);
      expect(spawnSync('ls', ['-A', dir], { encoding: 'utf8' }).stdout.trim()).toBe('bad.asm');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
