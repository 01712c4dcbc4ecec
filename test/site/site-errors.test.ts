// `npm run site` on bad input: a duplicated or malformed rule id in a spec
// chapter is refused with file and line (exit code 2, no stack trace), and a
// build that fails part-way leaves the previous site exactly as it was.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSite } from '../../web/build';
import { checkChapters } from '../../web/spec-pages';
import { SiteError } from '../../web/errors';

/** A project with only a spec folder holding the given chapters. */
function project(chapters: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'mesovirt-site-'));
  mkdirSync(join(root, 'spec'));
  for (const [file, text] of Object.entries(chapters)) writeFileSync(join(root, 'spec', file), text);
  return root;
}

function runSite(root: string, out: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(process.cwd(), 'web/site.ts'), '--root', root, '--out', out], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

describe('the site generator refuses a spec it cannot anchor', () => {
  it('a rule id defined twice: exit 2, the second definition by file and line, the first named', () => {
    const root = project({ 'a.md': '# A\n\n**A.ONE.1** first.\n', 'b.md': '# B\n\ntext\n\n**A.ONE.1** again.\n' });
    const out = join(root, 'site');
    const r = runSite(root, out);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('spec/b.md:5: rule id A.ONE.1 is defined twice (first at spec/a.md:3)');
    expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
    expect(existsSync(out)).toBe(false);
  });

  it('a malformed rule id: exit 2 with file and line', () => {
    const root = project({ 'a.md': '# A\n\n**A.ONE.1** fine.\n\n**A.TWO.1a** not an id.\n\n**reconstructed** is prose.\n' });
    const r = runSite(root, join(root, 'site'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('spec/a.md:5: malformed rule id **A.TWO.1a**');
    expect(r.stderr.trim().split('\n')).toHaveLength(1); // the prose bold word is not flagged
  });

  it('each malformed shape is caught, and only those', () => {
    for (const bad of ['Seg.Load.4', 'SEG.LOAD.', 'SEG..4', 'SEG.load.4', 'SEG_LOAD_4']) {
      expect(() => checkChapters([{ file: 'x.md', text: `**${bad}** text` }]), bad).toThrow(SiteError);
    }
    for (const fine of ['SEG.LOAD.4', 'VMM.EQ', 'patch', 'at every exit']) {
      expect(() => checkChapters([{ file: 'x.md', text: `**${fine}** text` }]), fine).not.toThrow();
    }
  });

  it('an unknown option: exit 2 naming it', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'web/site.ts', '--bogus'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown argument --bogus');
  });
});

describe('a build that fails part-way leaves no half-written site', () => {
  it('the previous site stays as it was and no temporary folder is left', async () => {
    // A good spec, but no guests to assemble: the failure comes after the
    // chapter pages were written (to the temporary folder).
    const root = project({ 'a.md': '# A\n\n**A.ONE.1** fine.\n' });
    const parent = join(root, 'public');
    const out = join(parent, 'site');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'index.html'), 'the previous site');
    await expect(buildSite({ root, out })).rejects.toThrow(/guest 'hello' does not assemble/);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toBe('the previous site');
    expect(readdirSync(out)).toEqual(['index.html']);
    expect(readdirSync(parent)).toEqual(['site']);
  });
});
