// Bundles webgluon code for browsers with esbuild (platform browser, ESM, code splitting) and
// refuses what a page cannot load: a Node built-in (node:fs, …) or a Node-only package (webgpu,
// pngjs) imported statically by any module the page loads. Such an import may only sit in a chunk
// that the page reaches through `import()` alone (code run by Node-only APIs such as
// block.saveParameters(path)), or be an `import('node:…')` expression itself; both are listed in
// the result as `lazyNode`. Used by scripts/demo.mjs, tests/browser.test.ts and bench/browser/.
//
// PENDING lists what the shared layers still reach from Node, each with the edit that removes it
// (issue #14). Until those edits land, the build stands in for each: a stub for the named modules
// (every function throws, naming the module and the file), a browser twin for a module, or the
// named globals (process, Buffer, setImmediate) bound to a small shim in that file only.
// `strict: true` drops the stand-ins and fails on each; an entry whose file no longer needs it is
// reported in `unusedPending`, to be deleted.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
/** Packages that only run in Node (native bindings, file systems). */
const NODE_PACKAGES = new Set(['webgpu', 'pngjs', 'onnxruntime-node', 'playwright-core', 'tsx', 'esbuild', 'vitest']);
const packageName = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
const isNodeOnly = (spec) => BUILTINS.has(spec) || spec.startsWith('node:') || NODE_PACKAGES.has(packageName(spec));

/**
 * What the shared layers still take from Node, by file (relative to the repository), and the edit
 * that ends it. `modules`: Node modules it imports statically; `twins`: imports replaced by a
 * browser module; `globals`: Node globals it reads.
 */
export const PENDING = {};

const SHIM = 'webgluon-node-shim';
const STUB = 'webgluon-node-stub';
const GLOBAL_USE = { process: /(?<![\w$.])process(?=\s*\.\s*[A-Za-z_$])/g, Buffer: /(?<![\w$.])Buffer(?=\s*\.\s*[A-Za-z_$])/g, setImmediate: /(?<![\w$.])setImmediate(?=\s*\()/g };
// Node globals that must not be read by code the page loads (after the stand-ins).
const GLOBAL_LEAKS = /(?<![\w$.'"`])(?:process\s*\.\s*(?:env|pid|argv|platform|emitWarning|exit|cwd|getuid|versions?|nextTick|hrtime|memoryUsage)\b|Buffer\s*\.\s*(?:from|alloc|allocUnsafe|byteLength|concat|isBuffer)\b|setImmediate\s*\(|__dirname\b|__filename\b)/g;

const SHIM_SOURCE = `
// Node globals for the files in build.mjs's PENDING table, until their edits land (issue #14).
export const nodeShim_process = { pid: 0, env: {}, emitWarning: (message) => console.warn(String(message)) };
export const nodeShim_setImmediate = (fn, ...args) => setTimeout(fn, 0, ...args);
const latin1 = (bytes) => Array.from(bytes, (b) => String.fromCharCode(b)).join('');
export const nodeShim_Buffer = {
  byteLength: (text) => new TextEncoder().encode(String(text)).length,
  from(value) {
    const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : Uint8Array.from(value);
    bytes.toString = (encoding) => (encoding === 'latin1' ? latin1(bytes) : new TextDecoder().decode(bytes));
    return bytes;
  },
};
`;

const stubSource = (module, importer) => `
// ${module} for ${importer} in a browser bundle (build.mjs PENDING): any use throws.
const fail = (name) => () => { throw new Error('webgluon: ${module} (' + String(name) + ') is not available in the browser; it is reached from ${importer}'); };
module.exports = new Proxy({}, { get: (_, name) => (name === '__esModule' ? false : name === 'default' ? module.exports : name === 'promises' ? module.exports : fail(name)) });
`;

const rel = (file) => relative(ROOT, file).split(sep).join('/');

/** The static-import closure of the entry chunk: the files a page loads before any import(). */
function staticChunks(metafile, entryOut) {
  const seen = new Set([entryOut]);
  const queue = [entryOut];
  while (queue.length) {
    const out = metafile.outputs[queue.shift()];
    for (const imp of out.imports) {
      if (imp.kind === 'import-statement' && !imp.external && !seen.has(imp.path)) {
        seen.add(imp.path);
        queue.push(imp.path);
      }
    }
  }
  return seen;
}

/**
 * Builds `entry` (a path relative to the repository) into `outdir`. Options: `strict` (no stand-ins
 * for PENDING), `minify`, `aliasIndex` (src/index.ts resolves to src/browser.ts, for examples
 * that import the Node entry; default true), `define`, `allowPackages` (bare packages the page
 * may bundle, e.g. @tensorflow/*), `stubModulesFor` (more stubs, for code outside the library:
 * { 'bench/harness.ts': ['node:fs'] }). Old *.js and *.js.map files in `outdir` are removed first. Throws with every violation listed; returns
 * { outdir, entryFile, files: [{ path, bytes }], bytes, staticBytes, standIns, lazyNode, unusedPending, warnings }.
 */
export async function buildBrowser({ entry, outdir, strict = false, minify = false, aliasIndex = true, allowPackages = [], sourcemap = 'linked', logLevel = 'silent', stubModulesFor = {} } = {}) {
  const pending = strict ? {} : PENDING;
  const nodeImports = []; // { importer, spec, kind }
  const standIns = [];
  const usedPending = new Set();
  const problems = [];
  const browserTs = join(ROOT, 'src/browser.ts');
  const indexTs = join(ROOT, 'src/index.ts');
  // Extra stubbed modules for non-library code (bench harness helpers): { 'bench/harness.ts': ['node:fs', …] }.
  const extraStubs = stubModulesFor;

  const guard = {
    name: 'webgluon-browser-guard',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.namespace === STUB || args.namespace === SHIM) return undefined;
        const importer = args.importer ? rel(args.importer) : '';
        if (args.path === SHIM) return { path: SHIM, namespace: SHIM };
        // Packages resolve as esbuild resolves them for browsers: their package.json `browser` field
        // maps built-ins away, and a built-in that stays fails the build as unresolved.
        if (/[\\/]node_modules[\\/]/.test(args.importer)) return undefined;
        if (isNodeOnly(args.path)) {
          const spec = args.path;
          // An `import('node:…')` is left to the lazy-chunk rule below, so a fixed file stops using its stand-in.
          const allowed = (args.kind !== 'dynamic-import' && pending[importer]?.modules?.includes(spec)) || extraStubs[importer]?.includes(spec);
          if (allowed) {
            if (pending[importer]) usedPending.add(importer);
            standIns.push(`${importer}: ${spec} (stub)`);
            return { path: `${spec}|${importer}`, namespace: STUB, pluginData: { spec, importer } };
          }
          nodeImports.push({ importer, spec, kind: args.kind });
          return { path: spec, external: true };
        }
        const twin = pending[importer]?.twins?.[args.path];
        if (twin) {
          usedPending.add(importer);
          standIns.push(`${importer}: ${args.path} → ${twin}`);
          return { path: join(ROOT, twin) };
        }
        if (!args.path.startsWith('.') && !args.path.startsWith('/')) {
          const name = packageName(args.path);
          if (!allowPackages.some((p) => (p.endsWith('/*') ? name.startsWith(p.slice(0, -1)) : name === p))) {
            problems.push(`${importer} imports the package '${args.path}', which the browser build does not bundle (allowPackages)`);
          }
          return undefined;
        }
        if (aliasIndex && args.importer) {
          const target = resolve(dirname(args.importer), args.path).replace(/\.js$/, '.ts');
          if (target === indexTs) return { path: browserTs };
        }
        return undefined;
      });
      build.onLoad({ filter: /.*/, namespace: STUB }, (args) => ({ contents: stubSource(args.pluginData.spec, args.pluginData.importer), loader: 'js' }));
      build.onLoad({ filter: /.*/, namespace: SHIM }, () => ({ contents: SHIM_SOURCE, loader: 'js' }));
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        const file = rel(args.path);
        const globals = pending[file]?.globals;
        const source = readFileSync(args.path, 'utf8');
        if (!globals?.length) return { contents: source, loader: 'ts' };
        let contents = source;
        const used = globals.filter((g) => GLOBAL_USE[g].test(source));
        for (const g of used) contents = contents.replace(GLOBAL_USE[g], `__webgluonNodeShim.nodeShim_${g}`);
        for (const g of Object.values(GLOBAL_USE)) g.lastIndex = 0;
        if (!used.length) return { contents: source, loader: 'ts' };
        usedPending.add(file);
        standIns.push(`${file}: ${used.join(', ')} (shim)`);
        return { contents: `import * as __webgluonNodeShim from '${SHIM}';\n${contents}`, loader: 'ts', resolveDir: dirname(args.path) };
      });
    },
  };

  // Chunk names change with their content: old ones would pile up beside the new.
  mkdirSync(outdir, { recursive: true });
  for (const f of readdirSync(outdir)) if (/^[\w-]+\.js(\.map)?$/.test(f)) rmSync(join(outdir, f));
  let result;
  try {
    result = await esbuild.build({
      entryPoints: [join(ROOT, entry)],
      outdir,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify,
      sourcemap,
      metafile: true,
      write: true,
      logLevel,
      entryNames: '[name]',
      chunkNames: 'chunk-[hash]',
      plugins: [guard],
    });
  } catch (e) {
    const errors = (e.errors ?? []).map((m) => `${m.location ? `${m.location.file}:${m.location.line}: ` : ''}${m.text}`);
    throw new Error(`webgluon browser build of ${entry} failed:\n  ${(errors.length ? errors : [e.message]).join('\n  ')}`, { cause: e });
  }
  const { metafile } = result;
  const entryOut = Object.keys(metafile.outputs).find((o) => metafile.outputs[o].entryPoint && rel(resolve(metafile.outputs[o].entryPoint)) === entry);
  const loaded = staticChunks(metafile, entryOut);
  const lazyNode = [];
  for (const imp of nodeImports) {
    const chunk = Object.keys(metafile.outputs).find((o) => Object.keys(metafile.outputs[o].inputs).some((i) => rel(resolve(i)) === imp.importer));
    const line = `${imp.importer} -> ${imp.spec}${imp.kind === 'dynamic-import' ? ' (import())' : ''}`;
    if (imp.kind !== 'dynamic-import' && chunk && loaded.has(chunk)) {
      const fix = PENDING[imp.importer]?.fix;
      problems.push(`${line}: a Node module in code the page loads${fix ? ` (fix: ${fix})` : ''}`);
    } else lazyNode.push(line);
  }
  for (const out of loaded) {
    if (out.endsWith('.map')) continue;
    const text = readFileSync(resolve(out), 'utf8');
    for (const m of text.matchAll(GLOBAL_LEAKS)) {
      const inputs = Object.keys(metafile.outputs[out].inputs).map((i) => rel(resolve(i)));
      const owner = whichInput(text, m.index, inputs);
      // Packages test for their environment (`typeof process !== 'undefined'`) themselves.
      if (owner?.startsWith('node_modules/')) continue;
      problems.push(`${owner ?? out} reads the Node global \`${m[0].trim()}\` in code the page loads${PENDING[owner]?.fix ? ` (fix: ${PENDING[owner].fix})` : ''}`);
    }
  }
  if (problems.length) throw new Error(`webgluon browser build of ${entry}: ${problems.length} problem(s):\n  ${[...new Set(problems)].join('\n  ')}`);
  const files = Object.keys(metafile.outputs).filter((o) => !o.endsWith('.map')).map((o) => ({ path: resolve(o), bytes: statSync(resolve(o)).size }));
  const bytes = files.reduce((s, f) => s + f.bytes, 0);
  const staticBytes = files.filter((f) => [...loaded].some((o) => resolve(o) === f.path)).reduce((s, f) => s + f.bytes, 0);
  return {
    outdir, entryFile: resolve(entryOut), files, bytes, staticBytes,
    standIns: [...new Set(standIns)].sort(), lazyNode: [...new Set(lazyNode)].sort(),
    unusedPending: strict ? [] : Object.keys(PENDING).filter((f) => !usedPending.has(f)),
    warnings: result.warnings.map((w) => w.text),
  };
}

/** The input file whose code surrounds `index` in a non-minified bundle (esbuild writes `// path` before each). */
function whichInput(text, index, inputs) {
  const before = text.slice(0, index);
  let best = null;
  let at = -1;
  for (const i of inputs) {
    const k = before.lastIndexOf(`// ${i}\n`);
    if (k > at) { at = k; best = i; }
  }
  return best;
}

/** The demo page (examples/browser): main.ts bundled, beside a copy of index.html. */
export async function buildDemo({ outdir = join(ROOT, '.cache/browser-demo'), ...options } = {}) {
  const result = await buildBrowser({ entry: 'examples/browser/main.ts', outdir, ...options });
  copyFileSync(join(ROOT, 'examples/browser/index.html'), join(outdir, 'index.html'));
  return result;
}
