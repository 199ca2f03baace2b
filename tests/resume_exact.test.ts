// A resumed run continues exactly: the Siamese example trained 2 epochs straight, and the same
// trained 1 epoch, SIGKILLed once its checkpoint exists, then run again with --resume to 2
// epochs, give the same per-step losses in epoch 2 and the same final parameters (within 1e-5),
// hybridized and eager. That needs everything the checkpoint holds: the parameters, Adam's
// moments and step counts (Trainer.saveStates), the pair generator's PRNG, the DataLoader's order
// and nd.random's seed. A checkpoint stripped of all but the parameters resumes, but differently:
// the comparison would notice a resume that lost the rest.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, readParameterMetadata } from '../src/nn/serialization.js';

const root = mkdtempSync(join(tmpdir(), 'webgluon-resume-exact-'));
const env = { ...process.env, WEBGLUON_CACHE: join(root, 'cache') };
// Tiny: 3 steps of 4 pairs per epoch on 20x20 glyphs; a larger rate than the default, so that a
// resume with other optimizer state or other pairs would differ clearly.
const SMALL = ['--steps-per-epoch', '3', '--batch-size', '4', '--image-size', '20', '--lr', '0.01', '--workers', '1'];
const TOLERANCE = 1e-5;
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `train` of the example's CLI in a child process; with `killWhen`, SIGKILLs it as soon as that file exists. */
function train(extra: string[], killWhen?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/siamese/cli.ts', 'train', ...SMALL, ...extra],
      { cwd: process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const poll = killWhen ? setInterval(() => existsSync(killWhen) && child.kill('SIGKILL'), 5) : null;
    const limit = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (poll) clearInterval(poll);
      clearTimeout(limit);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

interface StepMetric {
  step: number;
  epoch: number;
  loss: number;
}

const stepsOf = (out: string) => (JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { steps: StepMetric[] }).steps;
const paramsOf = (out: string) => decodeSafetensors(new Uint8Array(readFileSync(join(out, 'siamese.safetensors'))));

function maxDifference(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
}

describe.each([
  ['hybridized', [], true],
  ['eager', ['--no-hybridize'], false],
])('--resume after a SIGKILL (%s)', (mode, flags, control) => {
  const straight = join(root, `${mode}-straight`);
  const resumed = join(root, `${mode}-resumed`);
  const stripped = join(root, `${mode}-stripped`);

  it('continues exactly as the uninterrupted run: the same epoch-2 losses and final parameters', async () => {
    // The straight run and the interrupted one are independent: they run side by side.
    const checkpoint = join(resumed, 'checkpoint.json');
    const [whole, killed] = await Promise.all([
      train([...flags, '--epochs', '2', '--out', straight]),
      train([...flags, '--epochs', '1', '--out', resumed], checkpoint),
    ]);
    expect(whole.code, whole.stderr).toBe(0);
    const want = stepsOf(straight);
    expect(want.map((m) => m.epoch)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(killed.signal, `the first run ended by itself:\n${killed.stdout}\n${killed.stderr}`).toBe('SIGKILL');
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as { epoch: number; params: string; trainer: string; rng: object };
    expect(saved).toMatchObject({ epoch: 1, params: 'checkpoint-epoch1.safetensors', trainer: 'checkpoint-epoch1.states' });
    expect(Object.keys(saved.rng).sort()).toEqual(['loader', 'nd', 'pairs']);

    // The control: the same checkpoint without the optimizer's and the random state resumes,
    // but epoch 2 comes out different, so the comparison below would catch a resume that lost them.
    let controlRun: Promise<Run> | null = null;
    if (control) {
      cpSync(resumed, stripped, { recursive: true });
      const path = join(stripped, 'checkpoint.json');
      const { trainer: _t, rng: _r, ...rest } = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      writeFileSync(path, JSON.stringify(rest));
      controlRun = train([...flags, '--epochs', '2', '--resume', '--out', stripped]);
    }
    const [again, other] = await Promise.all([train([...flags, '--epochs', '2', '--resume', '--out', resumed]), controlRun]);
    expect(again.code, again.stderr).toBe(0);
    // Nothing was missing from the checkpoint (else the line would say what starts afresh).
    expect(again.stdout).toMatch(/resuming after epoch 1 \(3 steps done\)\n/);
    const got = stepsOf(resumed);
    expect(got.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(got.slice(0, 3)).toEqual(want.slice(0, 3).map((m) => ({ ...m, seconds: expect.any(Number), dispatches: expect.any(Number), liveBytes: expect.any(Number), heapBytes: expect.any(Number) })));
    const lossDiff = maxDifference(got.slice(3).map((m) => m.loss), want.slice(3).map((m) => m.loss));
    const a = paramsOf(straight);
    const b = paramsOf(resumed);
    expect([...b.keys()]).toEqual([...a.keys()]);
    const paramDiff = Math.max(...[...a].map(([name, t]) => maxDifference(Array.from(t.data), Array.from(b.get(name)!.data))));
    console.log(`${mode}: epoch-2 losses ${want.slice(3).map((m) => m.loss.toFixed(6)).join(', ')}; ` +
      `max |loss difference| ${lossDiff}, max |parameter difference| ${paramDiff}`);
    expect(lossDiff).toBeLessThanOrEqual(TOLERANCE);
    expect(paramDiff).toBeLessThanOrEqual(TOLERANCE);
    // The final parameter file says what it is, and what it was trained on.
    const meta = await readParameterMetadata(join(resumed, 'siamese.safetensors'));
    expect(meta).toMatchObject({ format: 'webgluon-params/1', model: 'Siamese', imageSize: '20', epoch: '2' });
    expect(JSON.parse(meta.trainingArgs)).toMatchObject({ epochs: 2, stepsPerEpoch: 3, batchSize: 4, learningRate: 0.01, hybridize: mode === 'hybridized' });

    if (other) {
      expect(other.code, other.stderr).toBe(0);
      expect(other.stdout).toContain('the checkpoint has no optimizer state: Adam starts afresh');
      expect(other.stdout).toContain('the checkpoint has no random state');
      const diff = maxDifference(stepsOf(stripped).slice(3).map((m) => m.loss), want.slice(3).map((m) => m.loss));
      console.log(`${mode}: without the optimizer and random state, max |loss difference| ${diff}`);
      expect(diff).toBeGreaterThan(1e-3);
    }
  });
});
