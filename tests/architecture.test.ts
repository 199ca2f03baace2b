// The layers of docs/architecture.md, read from the import statements of src/: each folder may
// import only the folders listed for it, no two folders import each other through any chain,
// and the Node-only pieces (Dawn, V8, globals) stay in the one module each that owns them.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../src');

/** What each layer may import, bottom to top. A file directly in src/ is the public entry. */
const ALLOWED: Record<string, readonly string[]> = {
  base: [],
  runtime: ['base'],
  graph: ['base'],
  codegen: ['base', 'graph'],
  cpu: ['base', 'graph'],
  ops: ['base', 'graph', 'codegen', 'cpu'],
  ndarray: ['base', 'graph', 'codegen', 'cpu', 'ops', 'runtime'],
  compiler: ['base', 'graph', 'codegen', 'cpu', 'ops', 'runtime', 'ndarray'],
  data: ['base', 'ndarray'],
  onnx: ['base', 'graph', 'ops'],
  nn: ['base', 'graph', 'ops', 'ndarray', 'compiler', 'data', 'onnx'],
};

interface Import {
  from: string;
  spec: string;
  /** The folder under src/ it resolves to (null: a file directly in src/ or a package). */
  layer: string | null;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : /\.ts$/.test(f) ? [p] : [];
  });
}

const layerOf = (file: string): string | null => {
  const parts = relative(SRC, file).split(sep);
  return parts.length > 1 ? parts[0] : null;
};

const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?[^'";]*?\s*from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g;

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return [...text.matchAll(IMPORT)].map((m) => {
    const spec = m[1] ?? m[2] ?? m[3];
    const layer = spec.startsWith('.') ? layerOf(resolve(dirname(file), spec)) : null;
    return { from: relative(SRC, file), spec, layer };
  });
}

const files = sourceFiles(SRC);
const imports = files.flatMap(importsOf);

describe('the layers of src/', () => {
  it('every folder is a known layer', () => {
    const folders = readdirSync(SRC).filter((f) => statSync(join(SRC, f)).isDirectory());
    expect(folders.sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  it('each layer imports only the layers below it', () => {
    const broken = imports.filter((i) => {
      const from = layerOf(join(SRC, i.from));
      return from !== null && i.layer !== null && i.layer !== from && !ALLOWED[from].includes(i.layer);
    }).map((i) => `${i.from} -> ${i.spec}`);
    expect(broken).toEqual([]);
  });

  it('no chain of imports leads from a folder back to itself', () => {
    const edges = new Map<string, Set<string>>();
    for (const i of imports) {
      const from = layerOf(join(SRC, i.from));
      if (from && i.layer && i.layer !== from) (edges.get(from) ?? edges.set(from, new Set()).get(from)!).add(i.layer);
    }
    const cycles: string[] = [];
    const reach = (start: string, at: string, path: string[]): void => {
      for (const next of edges.get(at) ?? []) {
        if (next === start) cycles.push([...path, next].join(' -> '));
        else if (!path.includes(next)) reach(start, next, [...path, next]);
      }
    };
    for (const layer of edges.keys()) reach(layer, layer, [layer]);
    expect(cycles).toEqual([]);
  });

  it('Dawn, V8 flags and Node-only modules stay where they belong', () => {
    const users = (test: (spec: string) => boolean) => [...new Set(imports.filter((i) => test(i.spec)).map((i) => i.from))].sort();
    expect(users((s) => s === 'webgpu')).toEqual(['runtime/dawn.ts']);
    expect(users((s) => s === 'node:v8' || s === 'node:vm')).toEqual(['runtime/node_gc.ts']);
    // The layers a browser build needs whole: no Node built-ins at all.
    const nodeOnly = imports.filter((i) => /^node:/.test(i.spec) && ['base', 'graph', 'codegen', 'cpu', 'ops', 'ndarray', 'compiler'].includes(i.from.split(sep)[0]))
      .map((i) => `${i.from} -> ${i.spec}`);
    expect(nodeOnly).toEqual([]);
    const assigns = files.filter((f) => /Object\.assign\(\s*globalThis|globalThis\.\w+\s*=[^=]|globalThis\[[^\]]+\]\s*=[^=]/.test(readFileSync(f, 'utf8')));
    expect(assigns.map((f) => relative(SRC, f))).toEqual([]);
  });

  it("DESIGN.md's own layer checker agrees, when ../shared is beside the repo", () => {
    const tool = resolve(__dirname, '../../shared/tools/layers.mjs');
    if (!existsSync(tool)) return;
    const run = spawnSync(process.execPath, [tool, SRC], { encoding: 'utf8' });
    expect(run.stdout).toMatch(/layers: 0 broken rules, 0 folder cycles/);
    expect(run.status).toBe(0);
  });
});

describe('importing webgluon', () => {
  it('changes no globals and no V8 flags, even after relieving GPU memory pressure', () => {
    // A fresh process: the test runner itself may have put things on globalThis.
    const script = `
      const vm = await import('node:vm');
      const before = new Set(Object.getOwnPropertyNames(globalThis));
      const w = await import(${JSON.stringify(join(SRC, 'index.ts'))});
      const added = Object.getOwnPropertyNames(globalThis).filter((k) => !before.has(k));
      const gcAfterImport = vm.runInNewContext('typeof gc');
      // Churn GPU memory until the collector has been asked for a collection.
      for (let i = 0; i < 40; i++) {
        w.nd.zeros([1024, 1024]).add(1).dispose();
        await w.runtime.flush();
      }
      const collections = w.runtime.stats().collections;
      const gcAfterPressure = vm.runInNewContext('typeof gc');
      console.log(JSON.stringify({ added, gcAfterImport, gcAfterPressure, collected: collections > 0, usage: typeof globalThis.GPUBufferUsage }));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: resolve(__dirname, '..') });
    const result = JSON.parse(out.trim().split('\n').pop()!);
    expect(result).toEqual({ added: [], gcAfterImport: 'undefined', gcAfterPressure: 'undefined', collected: true, usage: 'undefined' });
  });
});
