// The package as a user gets it: `npm pack` (which builds dist/ through prepack), a real
// `npm install` of the tarball into a fresh project, then, from that project and with plain node,
// the README's first example, the `webgluon-siamese` command, a strict TypeScript program against
// the installed declarations (NodeNext and Bundler resolution, no skipLibCheck), and publint and
// attw on the tarball.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { transformSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '..');
const BIN = join(ROOT, 'node_modules', '.bin');
// TypeScript 5 (attw's own copy): the package's declarations for TypeScript before 6 are checked with it.
const TSC5 = join(ROOT, 'node_modules', '@arethetypeswrong', 'core', 'node_modules', 'typescript', 'bin', 'tsc');

const dir = mkdtempSync(join(tmpdir(), 'webgluon-install-'));
const project = join(dir, 'project');
let tarball = '';
const timings: string[] = [];

/** Child processes find this node first (the bin's `#!/usr/bin/env node`) and never ask npm to update itself. */
const env = {
  ...process.env,
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
  npm_config_update_notifier: 'false',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  WEBGLUON_CACHE: join(dir, 'cache'),
};

interface Result { status: number | null; stdout: string; out: string }

/** Runs a command without blocking the test worker (vitest talks to it meanwhile). */
function run(cmd: string, args: string[], cwd: string, timeout = 240_000): Promise<Result> {
  const t0 = Date.now();
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    const timer = setTimeout(() => { stderr += `\n(killed after ${timeout / 1000} s)`; child.kill('SIGKILL'); }, timeout);
    const finish = (status: number | null, error?: Error) => {
      clearTimeout(timer);
      timings.push(`${[cmd.split('/').pop(), ...args].join(' ').slice(0, 70)}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      done({ status, stdout, out: `${stdout}${stderr}${error ? String(error) : ''}` });
    };
    child.on('error', (e) => finish(null, e));
    child.on('close', (code) => finish(code));
  });
}

/** The first ```ts block after the README's "## What is here". */
function readmeSnippet(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('## What is here');
  expect(at).toBeGreaterThanOrEqual(0);
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(m, 'no ```ts block after "## What is here"').not.toBeNull();
  return m![1];
}

beforeAll(async () => {
  mkdirSync(project);
  const pack = await run('npm', ['pack', '--pack-destination', dir], ROOT);
  expect(pack.status, pack.out).toBe(0);
  const tgz = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
  expect(tgz).toHaveLength(1);
  tarball = join(dir, tgz[0]);

  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'webgluon-consumer', private: true, type: 'module' }, null, 2));
  // A TypeScript project for Node has Node's types; take the version this repository installed,
  // which npm's cache holds. Offline first; npm asks the registry only for what the cache lacks.
  const typesNode = JSON.parse(readFileSync(join(ROOT, 'node_modules', '@types', 'node', 'package.json'), 'utf8')).version as string;
  const specs = [tarball, `@types/node@${typesNode}`];
  let install = await run('npm', ['install', ...specs, '--offline'], project);
  if (install.status !== 0) install = await run('npm', ['install', ...specs, '--prefer-offline'], project);
  expect(install.status, install.out).toBe(0);
}, 360_000);

afterAll(() => {
  console.log(`package install test timings:\n  ${timings.join('\n  ')}`);
  rmSync(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds dist and the README, no sources, tests or benchmark results', async () => {
    const list = await run('tar', ['-tzf', tarball], dir);
    expect(list.status, list.out).toBe(0);
    const files = list.stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));
    expect(files).toContain('package.json');
    expect(files).toContain('README.md');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/src/data/decode_worker.js');
    expect(files).toContain('dist/examples/siamese/bin.js');
    const stray = files.filter((f) => !(f === 'package.json' || f === 'README.md' || f.startsWith('LICENSE') || f.startsWith('dist/')));
    expect(stray).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('passes publint and attw (ESM-only profile)', async () => {
    const publint = await run(join(BIN, 'publint'), ['run', '--strict', tarball], dir);
    expect(publint.status, publint.out).toBe(0);
    expect(publint.out).toContain('All good!');
    const attw = await run(join(BIN, 'attw'), [tarball, '--profile', 'esm-only', '--format', 'json'], dir);
    const json = attw.stdout.slice(attw.stdout.indexOf('{'));
    const problems = Object.values(JSON.parse(json).problems ?? {}).flat() as { resolutionKind?: string }[];
    // The ESM-only profile ignores CommonJS and node10 resolution.
    const counted = problems.filter((p) => p.resolutionKind !== 'node10' && p.resolutionKind !== 'node16-cjs');
    expect(counted, attw.out).toEqual([]);
    expect(attw.status, attw.out).toBe(0);
  });
});

describe('installed into a fresh project', () => {
  it("runs the README's first example with plain node", async () => {
    const snippet = readmeSnippet();
    const expected = /console\.log\(.*\);\s*\/\/\s*(.+)$/m.exec(snippet);
    expect(expected, 'the snippet prints one line, with what it prints in a comment').not.toBeNull();
    const js = transformSync(snippet, { loader: 'ts', format: 'esm' }).code; // types erased only
    writeFileSync(join(project, 'readme.mjs'), js);
    const res = await run(process.execPath, ['readme.mjs'], project);
    expect(res.status, res.out).toBe(0);
    expect(res.stdout.replace(/\s/g, '')).toBe(expected![1].replace(/\s/g, ''));
  });

  it('runs the webgluon-siamese command', async () => {
    const cmd = join(project, 'node_modules', '.bin', 'webgluon-siamese');
    const help = await run(cmd, ['--help'], project);
    expect(help.status, help.out).toBe(0);
    expect(help.stdout).toMatch(/^usage: webgluon-siamese <command> \[options\]\ncommands:\n {2}train /);
    expect(help.stdout).toContain('eval-oneshot');
    const trainHelp = await run(cmd, ['train', '--help'], project);
    expect(trainHelp.stdout).toMatch(/^usage: webgluon-siamese train \[options\]/);
    const bad = await run(cmd, ['no-such-command'], project);
    expect(bad.status, bad.out).toBe(2);
    // A real run from the package: the built-in glyph data, a decode worker from dist/, two steps.
    const out = join(dir, 'out');
    const train = await run(cmd, ['train', '--epochs', '1', '--steps-per-epoch', '2', '--batch-size', '4', '--image-size', '28',
      '--workers', '1', '--out', out], project);
    expect(train.status, train.out).toBe(0);
    expect(train.stdout).toMatch(/test pairs: mean distance \d/);
    expect(existsSync(join(out, 'siamese.safetensors'))).toBe(true);
  });

  it('type-checks a strict program against the declarations (NodeNext and Bundler, with and without the DOM lib)', async () => {
    writeFileSync(join(project, 'readme.ts'), readmeSnippet());
    writeFileSync(join(project, 'model.ts'), `\
import { autograd, gluon, nd, type F, type Tensor } from 'webgluon';

/** gluon.nn.Dense as a type, a typed HybridBlock and a Trainer, as a user of the package writes them. */
export class TwoLayer extends gluon.HybridBlock<[Tensor], Tensor> {
  readonly hidden: gluon.nn.Dense = new gluon.nn.Dense(8, { activation: 'relu' });
  readonly output: gluon.nn.Dense = new gluon.nn.Dense(1);

  override hybridForward(F: F, x: Tensor): Tensor {
    return this.output.forward(F.relu(this.hidden.forward(x)));
  }
}

const net = new TwoLayer();
net.initialize();
const trainer: gluon.Trainer = new gluon.Trainer(net.collectParams(), 'adam', { learningRate: 0.01 });
const x = nd.ones([4, 3]);
const loss: Tensor = autograd.record(() => nd.mean(nd.square(net.forward(x))));
loss.backward();
trainer.step(4);
const y: Tensor = net.forward(x);
// @ts-expect-error a typed block takes the inputs it declares
net.forward(x, x);
// @ts-expect-error forward() returns a Tensor, not any
export const notAString: string = net.forward(x);
export const value: Promise<number> = y.item();
`);
    const configs: Record<string, object> = {
      'tsconfig.nodenext.json': { module: 'NodeNext', moduleResolution: 'NodeNext' },
      'tsconfig.bundler.json': { module: 'ESNext', moduleResolution: 'Bundler' },
      'tsconfig.nodenext-nodom.json': { module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023'] },
      'tsconfig.bundler-nodom.json': { module: 'Preserve', moduleResolution: 'Bundler', lib: ['ES2023'] },
    };
    const failures: string[] = [];
    const check = async (label: string, tsc: string[], config: string) => {
      const res = await run(tsc[0], [...tsc.slice(1), '-p', config], project, 120_000);
      if (res.status !== 0) failures.push(`${label} ${config}:\n${res.out}`);
    };
    for (const [name, options] of Object.entries(configs)) {
      writeFileSync(join(project, name), JSON.stringify({
        compilerOptions: { strict: true, target: 'ES2022', types: ['node'], skipLibCheck: false, noEmit: true, ...options },
        files: ['readme.ts', 'model.ts'],
      }, null, 2));
      await check('TypeScript (the repository\'s)', [join(BIN, 'tsc')], name);
    }
    // TypeScript 5 takes the declarations for before 6 (WebGPU's types from @webgpu/types, which
    // needs the DOM lib). Once, without the DOM lib in the config: it is four times slower than 7.
    if (existsSync(TSC5)) await check('TypeScript 5', [process.execPath, TSC5], 'tsconfig.nodenext-nodom.json');
    expect(failures.join('\n\n')).toBe('');
  });
});
