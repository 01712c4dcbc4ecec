// impl/ is laid out in one direction (impl/README.md, "Layers"): every file
// imports only files of its own layer or of lower ones, and no files import
// each other in a circle, so a reader can start at the bottom. This test reads
// the import statements of impl/**/*.ts (value and type imports alike: a type
// is something the reader must know first) and the layer list of the README.
// It takes well under a second.
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const IMPL = join(__dirname, '..', '..', 'impl');

/** impl-relative paths of the TypeScript files under `root` ('ops/alu.ts'). */
function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) out.push(relative(root, path).split('\\').join('/'));
    }
  };
  walk(root);
  return out.sort();
}

/** The module specifiers a file imports or re-exports (static and dynamic). */
export function importedSpecifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const m of code.matchAll(/\b(?:import|export)\s[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/g)) out.push(m[1]);
  for (const m of code.matchAll(/\bimport\s*\(?\s*['"]([^'"]+)['"]/g)) out.push(m[1]);
  return out;
}

/** file -> the impl files it imports (imports leaving impl/ are dropped). */
export type Graph = Map<string, string[]>;

function importGraph(root: string): Graph {
  const files = sourceFiles(root);
  const known = new Set(files);
  const graph: Graph = new Map();
  for (const file of files) {
    const targets = new Set<string>();
    for (const spec of importedSpecifiers(readFileSync(join(root, file), 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const path = posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.ts$/, '');
      if (known.has(`${path}.ts`)) targets.add(`${path}.ts`);
      else if (known.has(`${path}/index.ts`)) targets.add(`${path}/index.ts`);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** The strongly connected components with more than one file, or a file
 * importing itself (Tarjan's algorithm): each is a circle of imports. */
export function importCycles(graph: Graph): string[][] {
  let counter = 0;
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter); low.set(v, counter); counter++;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); component.push(w); } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

/** The layers listed in the README's "Layers" section, bottom first: each
 * numbered line names its files in backquotes ('ops/' names the folder). */
export function readmeLayers(readme: string): string[][] {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Layers'));
  if (section === undefined) return [];
  return section.split('\n').filter((line) => /^\d+\.\s/.test(line))
    .map((line) => [...line.matchAll(/`([a-z0-9/-]+(?:\.ts|\/))`/g)].map((m) => m[1]));
}

/** Imports that go up (to a later layer), and files in no layer or in two. */
export function layerViolations(graph: Graph, layers: string[][]): string[] {
  const layerOf = new Map<string, number>();
  const problems: string[] = [];
  for (const file of graph.keys()) {
    const owners = layers.flatMap((names, i) => (names.some((n) => n === file || (n.endsWith('/') && file.startsWith(n))) ? [i] : []));
    if (owners.length !== 1) problems.push(`${file} is in ${owners.length} layers`);
    else layerOf.set(file, owners[0]);
  }
  for (const [file, targets] of graph) {
    for (const target of targets) {
      const from = layerOf.get(file), to = layerOf.get(target);
      if (from !== undefined && to !== undefined && to > from) problems.push(`${file} (layer ${from + 1}) imports ${target} (layer ${to + 1})`);
    }
  }
  return problems;
}

describe('the layering checks find what they look for', () => {
  const graph = (edges: Record<string, string[]>): Graph => new Map(Object.entries(edges));

  it('reads multi-line, type-only, re-exported and dynamic imports, and skips commented ones', () => {
    const text = [
      "import type { A } from './a';",
      'import {',
      '  B, C,',
      "} from '../b';",
      "export { D } from './d';",
      "const e = await import('./e');",
      "// import { F } from './f';",
      "/* import { G } from './g'; */",
      "import './h';",
    ].join('\n');
    expect(importedSpecifiers(text)).toEqual(['./a', '../b', './d', './e', './h']);
  });

  it('finds a circle of three, a file importing itself, and nothing in a chain', () => {
    expect(importCycles(graph({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': ['a.ts'], 'd.ts': ['a.ts'] }))).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    expect(importCycles(graph({ 'a.ts': ['a.ts'] }))).toEqual([['a.ts']]);
    expect(importCycles(graph({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': [] }))).toEqual([]);
  });

  it('reports an import that goes up a layer, and a file listed nowhere or twice', () => {
    const g = graph({ 'cpu.ts': [], 'ops/alu.ts': ['cpu.ts'], 'step.ts': ['ops/alu.ts'] });
    expect(layerViolations(g, [['cpu.ts'], ['ops/'], ['step.ts']])).toEqual([]);
    expect(layerViolations(g, [['cpu.ts'], ['step.ts'], ['ops/']])).toEqual(['step.ts (layer 2) imports ops/alu.ts (layer 3)']);
    expect(layerViolations(g, [['cpu.ts'], ['ops/']])).toEqual(['step.ts is in 0 layers']);
    expect(layerViolations(g, [['cpu.ts', 'step.ts'], ['ops/', 'step.ts']])).toContain('step.ts is in 2 layers');
  });

  it('reads the layers of a README section', () => {
    const readme = '# x\n\n## Layers\n\n1. `cpu.ts` — state\n2. `ops/` and `decode.ts`\n\n## Other\n\n1. `no.ts`\n';
    expect(readmeLayers(readme)).toEqual([['cpu.ts'], ['ops/', 'decode.ts']]);
  });
});

describe('impl/ imports in one direction', () => {
  const graph = importGraph(IMPL);

  it('has no circle of imports', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it('follows the layer order of impl/README.md (each file imports only its own layer or lower ones)', () => {
    const layers = readmeLayers(readFileSync(join(IMPL, 'README.md'), 'utf8'));
    expect(layers.length).toBeGreaterThan(3);
    expect(layerViolations(graph, layers)).toEqual([]);
  });

  it('sees the files and their imports (the graph is not empty)', () => {
    expect(graph.size).toBeGreaterThan(20);
    expect(graph.get('ops/alu.ts')).toContain('flags.ts');
  });
});
