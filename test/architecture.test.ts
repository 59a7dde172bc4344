/**
 * The shape of src/ (docs/architecture.md), kept true by reading every import:
 * - imports run one way: cli → client | gateway → transport → config → protocol | net →
 *   observability → errors, clock (a folder may import a lower one, never a higher one or
 *   one beside it);
 * - no two folders import each other, directly or round a cycle (gateway/tunnel,
 *   gateway/mcp and gateway/http included);
 * - no file is over MAX_LINES lines;
 * - packages only some runs need (LOADED_ON_DEMAND) are never imported statically: a
 *   gateway without --redis and a client without a PAC file do not carry them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { REPO } from './helpers/system.js';

const SRC = join(REPO, 'src');
const MAX_LINES = 400;
/** Package → the option that needs it: loaded with `await import()` (or `require`) only then. */
const LOADED_ON_DEMAND: Record<string, string> = {
  ioredis: '--redis',
  'pac-resolver': '--proxy-pac / a PAC file from --proxy system',
  'quickjs-wasi': '--proxy-pac / a PAC file from --proxy system',
  kerberos: 'a proxy asking for Negotiate',
  yaml: 'a YAML config file',
  '@modelcontextprotocol/sdk': "a 2025-era MCP client session (the gateway's first initialize)",
};

/** Layer of each top-level part of src/; an import must go to a lower layer (or stay in its folder). */
const LAYER: Record<string, number> = {
  'errors.ts': 0,
  'clock.ts': 0,
  'env-lookup.ts': 0,
  observability: 1,
  types: 1,
  protocol: 2,
  net: 2,
  config: 3,
  transport: 4,
  client: 5,
  gateway: 5,
  cli: 6,
  'index.ts': 7,
};

interface Import {
  from: string;
  to: string;
  line: number;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative imports of every file (static, `export … from` and dynamic `import()`), as src-relative paths. */
function imports(files: string[]): Import[] {
  const out: Import[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.[^'"]+)['"]/gm;
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(pattern)) {
      const target = normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts');
      out.push({ from: relative(SRC, file), to: relative(SRC, target), line: text.slice(0, m.index).split('\n').length });
    }
  }
  return out;
}

const top = (path: string): string => path.split('/')[0]!;
/** A file's folder; a file at the top of src/ (errors.ts, clock.ts, index.ts) stands for itself. */
const folder = (path: string): string => (path.includes('/') ? dirname(path) : path);

const files = sourceFiles(SRC);
const edges = imports(files);

test('every part of src/ has a layer', () => {
  const unknown = [...new Set(files.map((f) => top(relative(SRC, f))))].filter((t) => LAYER[t] === undefined);
  assert.deepEqual(unknown, [], 'add new top-level folders to LAYER (and docs/architecture.md)');
});

test('imports run one way: only to a lower layer or within the same folder tree', () => {
  const backward = edges
    .filter((e) => !e.to.startsWith('..'))
    .filter((e) => top(e.from) !== top(e.to) && !(LAYER[top(e.to)]! < LAYER[top(e.from)]!))
    .map((e) => `${e.from}:${e.line} → ${e.to}`);
  assert.deepEqual(backward, []);
});

test('no two folders import each other, directly or round a cycle', () => {
  const graph = new Map<string, Set<string>>();
  for (const e of edges) {
    const a = folder(e.from);
    const b = folder(e.to);
    if (a === b) continue;
    if (!graph.has(a)) graph.set(a, new Set());
    graph.get(a)!.add(b);
  }
  const cycles = stronglyConnected(graph).filter((c) => c.length > 1);
  const explain = cycles.map((c) =>
    edges.filter((e) => c.includes(folder(e.from)) && c.includes(folder(e.to)) && folder(e.from) !== folder(e.to)).map((e) => `${e.from}:${e.line} → ${e.to}`),
  );
  assert.deepEqual(explain, []);
});

test(`no source file is over ${MAX_LINES} lines`, () => {
  const long = files
    .map((f) => ({ file: relative(SRC, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
    .filter((f) => f.lines > MAX_LINES)
    .map((f) => `${f.file}: ${f.lines}`);
  assert.deepEqual(long, []);
});

/** Tarjan's strongly connected components (iterative depth is fine: a few dozen folders). */
test('packages only some runs need are loaded on demand, never by a static import', () => {
  const wrong: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    // `import type … from` is erased by the compiler; `import x from`, `import 'x'` and `export … from` are not.
    for (const m of text.matchAll(/^\s*(?:import(?!\s+type\b)[^'"]*?|export\s[^'"]*?from\s*)['"]([^'"./][^'"]*)['"]/gm)) {
      const pkg = m[1]!.startsWith('@') ? m[1]!.split('/').slice(0, 2).join('/') : m[1]!.split('/')[0]!;
      if (pkg in LOADED_ON_DEMAND) wrong.push(`${relative(SRC, file)}: static import of ${pkg} (needed only with ${LOADED_ON_DEMAND[pkg]})`);
    }
  }
  assert.deepEqual(wrong, []);
});

function stronglyConnected(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      out.push(component);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}
