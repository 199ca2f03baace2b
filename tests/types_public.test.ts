// The public types, checked by the real compiler on small user programs written to a temporary
// folder: namespaces used as types (`gluon.nn.Dense`, `init.Xavier`), a two-input two-output
// HybridBlock destructured with no cast, Trainer and losses; programs that would compile only if
// those types were `any` fail with the expected error; and no declaration the package ships says `any`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '..');
/** NodeNext resolves the `.js` specifier to the TypeScript source. */
const ENTRY = join(ROOT, 'src', 'index.js');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The compiler options of a user's strict NodeNext project; the types come from this repository's node_modules. */
const compilerOptions = {
  target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023', 'ESNext.Disposable'],
  strict: true, skipLibCheck: true, esModuleInterop: true, resolveJsonModule: true,
  typeRoots: [join(ROOT, 'node_modules', '@types'), join(ROOT, 'node_modules', '@webgpu')],
  types: ['node', 'types'],
};

/** Writes `files` into a fresh temporary project and runs tsc on it; returns its exit status and diagnostics. */
function compile(files: Record<string, string>, options: Record<string, unknown> = { noEmit: true }): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'webgluon-types-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text.replaceAll('WEBGLUON', ENTRY));
  const names = Object.keys(files).filter((n) => n.endsWith('.ts'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { ...compilerOptions, ...options },
    files: names.length ? names : [join(ROOT, 'src', 'index.ts')],
  }));
  const res = spawnSync(process.execPath, [TSC, '-p', dir, '--pretty', 'false'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { status: res.status, out: `${res.stdout}${res.stderr}` };
}

const user = `
import { autograd, gluon, init, nd, type F, type Tensor } from 'WEBGLUON';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type IsAny<T> = 0 extends 1 & T ? true : false;
function assertType<T extends true>(): T | undefined { return undefined; }

// Namespaces are types as well as values.
let dense: gluon.nn.Dense = new gluon.nn.Dense(4, { activation: 'relu' });
dense = new gluon.nn.Dense(2);
const xavier: init.Xavier = new init.Xavier({ rndType: 'gaussian', factorType: 'in', magnitude: 2 });
const initializer: init.Initializer = xavier;
const l2: gluon.loss.L2Loss = new gluon.loss.L2Loss();
const seq: gluon.nn.HybridSequential = new gluon.nn.HybridSequential().add(dense, new gluon.nn.Dense(3));
let folder: gluon.data.vision.ImageFolderDataset | null = null;
const y: Tensor = dense.forward(nd.ones([2, 5]));

// A Siamese block: two tensors in, two out, destructured with no cast.
class Siamese extends gluon.HybridBlock<[Tensor, Tensor], [Tensor, Tensor]> {
  readonly tower = new gluon.nn.HybridSequential();
  constructor() {
    super();
    this.tower.add(new gluon.nn.Dense(8, { activation: 'relu' }), new gluon.nn.Dense(2, { activation: 'softrelu' }));
  }
  override hybridForward(F: F, a: Tensor, b: Tensor): [Tensor, Tensor] {
    const n = a.shape[0];
    const both = this.tower.forward(F.concat([a, b], 0));
    return [F.slice(both, [0, null], [n, null]), F.slice(both, [n, null], [2 * n, null])];
  }
}

class ContrastiveLoss extends gluon.loss.Loss<[Tensor, Tensor, Tensor]> {
  constructor(readonly margin = 6) {
    super();
  }
  override hybridForward(F: F, a: Tensor, b: Tensor, label: Tensor): Tensor {
    const d2 = F.sum(F.square(F.sub(a, b)), 1, true);
    const d = F.clip(F.sub(this.margin, F.sqrt(F.add(d2, 1e-4))), 0, this.margin);
    return F.mul(0.5, F.add(F.mul(F.sub(1, label), d2), F.mul(label, F.square(d))));
  }
}

const net = new Siamese();
net.initialize(initializer, { forceReinit: true });
net.hybridize({ staticAlloc: true, staticShape: true });
const trainer: gluon.Trainer = new gluon.Trainer(net.collectParams(), 'adam', { learningRate: 0.001 });
const a = nd.random.uniform(0, 1, [4, 6]);
const b = nd.random.uniform(0, 1, [4, 6]);
const label = nd.array([[0], [1], [0], [1]]);
const [out1, out2] = net.forward(a, b);
const loss: Tensor = autograd.record(() => new ContrastiveLoss().forward(out1, out2, label));
loss.backward();
trainer.step(4);
const perSample: Tensor = l2.forward(out1, out2, nd.ones([4, 1]));
const sce: Tensor = new gluon.loss.SoftmaxCrossEntropyLoss({ sparseLabel: true }).forward(out1, nd.array([0, 1, 0, 1]));

assertType<Equal<ReturnType<Siamese['forward']>, [Tensor, Tensor]>>();
assertType<Equal<Parameters<gluon.nn.Dense['forward']>, [Tensor]>>();
assertType<Equal<ReturnType<gluon.nn.Conv2D['forward']>, Tensor>>();
assertType<Equal<ReturnType<gluon.loss.SigmoidBinaryCrossEntropyLoss['forward']>, Tensor>>();
assertType<Equal<IsAny<ReturnType<gluon.Block['forward']>>, false>>();
assertType<Equal<IsAny<Parameters<gluon.HybridBlock['hybridForward']>[1]>, false>>();
assertType<Equal<IsAny<ReturnType<gluon.nn.Sequential['at']>>, false>>();
export { folder, seq, y, perSample, sce };
`;

const head = "import { gluon, nd, type F, type Tensor } from 'WEBGLUON';\nconst x = nd.ones([2, 3]);\n";
/** Programs that compile only if the types were `any`, and the error each must give. */
const wrong: Record<string, { code: string; text: string }> = {
  'two_outputs.ts': {
    code: 'TS2322', // '[Tensor, Tensor]' is not assignable to 'Tensor'
    text: `${head}class Split extends gluon.HybridBlock<[Tensor], [Tensor, Tensor]> {
  override hybridForward(F: F, v: Tensor): [Tensor, Tensor] { return [F.relu(v), F.neg(v)]; }
}
export const one: Tensor = new Split().forward(x);
`,
  },
  'arity.ts': {
    code: 'TS2554', // expected 1 argument, got 2
    text: `${head}export const y = new gluon.nn.Dense(2).forward(x, x);\n`,
  },
  'undeclared_inputs.ts': {
    code: 'TS2416', // a two-input hybridForward on a block declared (by default) with one input
    text: `${head}export class Pair extends gluon.HybridBlock {
  override hybridForward(F: F, a: Tensor, b: Tensor): Tensor { return F.add(a, b); }
}
`,
  },
  'loss_result.ts': {
    code: 'TS2322', // Tensor is not a string
    text: `${head}export const s: string = new gluon.loss.L2Loss().forward(x, x);\n`,
  },
};

describe('public types (the real compiler on user programs)', () => {
  it('namespaces as types, a typed two-output HybridBlock with no cast, Trainer, losses, init.Xavier: compiles under --strict', () => {
    const { status, out } = compile({ 'user.ts': user });
    expect(out).toBe('');
    expect(status).toBe(0);
  }, 120_000);

  it('programs that would compile only with `any` types fail with the expected error, each in its own file', () => {
    const { status, out } = compile(Object.fromEntries(Object.entries(wrong).map(([k, v]) => [k, v.text])));
    expect(status).not.toBe(0);
    const errors = out.split('\n').filter((l) => /error TS\d+/.test(l));
    // every error is in one of the programs (none in the library), and each program fails as expected
    expect(errors.filter((l) => !Object.keys(wrong).some((f) => l.startsWith(`${f}(`))), out).toEqual([]);
    for (const [file, { code }] of Object.entries(wrong)) {
      const codes = errors.filter((l) => l.startsWith(`${file}(`)).map((l) => /error (TS\d+)/.exec(l)![1]);
      expect(codes, `${file}:\n${out}`).toEqual([code]);
    }
  }, 120_000);

  it('no declaration the package ships contains `any`', () => {
    const outDir = mkdtempSync(join(tmpdir(), 'webgluon-dts-'));
    dirs.push(outDir);
    const { status, out } = compile({}, { declaration: true, emitDeclarationOnly: true, outDir, rootDir: join(ROOT, 'src') });
    expect(out).toBe('');
    expect(status).toBe(0);
    const files = (function walk(d: string): string[] {
      return readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : f.endsWith('.d.ts') ? [join(d, f)] : []));
    })(outDir);
    expect(files.map((f) => f.slice(outDir.length + 1))).toContain('gluon.d.ts');
    const withAny = files.flatMap((f) => readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '')
      .split('\n').filter((l) => /\bany\b/.test(l)).map((l) => `${f.slice(outDir.length + 1)}: ${l.trim()}`));
    expect(withAny).toEqual([]);
  }, 120_000);
});
