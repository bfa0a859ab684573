/**
 * The import directions of docs/architecture.md, read from the source: every static `import … from`,
 * `export … from` and `import('…')` with a string literal under src/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { type TestContext, test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|js)$/.test(entry.name) ? [path] : [];
  });
}

const IMPORT =
  /(?:^|[\s;}])(?:import|export)\s[^'"]*?\sfrom\s*['"]([^'"]+)['"]|(?:^|[\s;}])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Relative source imports of each file under src/, as paths relative to src/ ("node/daemon.ts"). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    // Comments may quote code: drop them first (line comments only where they start a line).
    const text = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    const targets: string[] = [];
    for (const match of text.matchAll(IMPORT)) {
      const spec = match[1] ?? match[2] ?? match[3];
      if (spec === undefined || !spec.startsWith('.')) continue;
      targets.push(relative(SRC, resolve(dirname(file), spec)));
    }
    graph.set(relative(SRC, file), targets);
  }
  return graph;
}

/** The top folder of a path under src/ ("node" for "node/daemon.ts", "errors.ts" for a root file). */
const area = (path: string): string => path.split('/')[0] ?? path;

function edgesBetween(graph: Map<string, string[]>, from: string[], to: string[]): string[] {
  const found: string[] = [];
  for (const [file, targets] of graph) {
    if (!from.includes(area(file))) continue;
    for (const target of targets) if (to.includes(area(target))) found.push(`${file} -> ${target}`);
  }
  return found;
}

test('the import graph is read from the source', (t: TestContext) => {
  const graph = importGraph();
  t.assert.ok(graph.size > 50);
  t.assert.ok(graph.get('cli.ts')?.some((target) => target.startsWith('cli/')));
});

test('the pure cores import nothing of node, web, cli, transport or control', (t: TestContext) => {
  const cores = ['chunk', 'index-file', 'placement', 'keys', 'catalog', 'repair'];
  const outer = ['node', 'web', 'cli', 'cli.ts', 'transport', 'control', 'ops'];
  t.assert.deepStrictEqual(edgesBetween(importGraph(), cores, outer), []);
});

test('web does not import node, and control does not import transport or node', (t: TestContext) => {
  const graph = importGraph();
  t.assert.deepStrictEqual(edgesBetween(graph, ['web'], ['node']), []);
  t.assert.deepStrictEqual(edgesBetween(graph, ['control'], ['transport', 'node']), []);
});

test('no import cycle anywhere under src/', (t: TestContext) => {
  const graph = importGraph();
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const target of graph.get(file) ?? []) {
      const seen = state.get(target);
      if (seen === 'open') cycles.push([...stack.slice(stack.indexOf(target)), target].join(' -> '));
      else if (seen === undefined && graph.has(target)) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  t.assert.deepStrictEqual(cycles, []);
});
