// A long run interrupted by SIGKILL (WEBGLUON_LONG=1): 2,000 hybridized steps on real Omniglot
// with a checkpoint every 100 steps, killed at a random moment, then resumed. Nothing is lost
// (every step's metrics, whole parameter files) and GPU memory and the JS heap stay flat.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../src/nn/serialization.js';

const LONG = process.env.WEBGLUON_LONG === '1';
const OMNIGLOT = resolve(__dirname, '../../shared/data/omniglot/images_background_small1');
const STEPS_PER_EPOCH = 100;
const EPOCHS = Number(process.env.WEBGLUON_LONG_EPOCHS ?? 20);

const root = mkdtempSync(join(tmpdir(), 'webgluon-kill-'));
const out = join(root, 'out');
afterAll(() => rmSync(root, { recursive: true, force: true }));
const args = ['--import', 'tsx', 'examples/siamese/cli.ts', 'train', '--train-dir', OMNIGLOT, '--steps-per-epoch', String(STEPS_PER_EPOCH),
  '--epochs', String(EPOCHS), '--image-size', '28', '--out', out, '--seed', '11'];

interface Metric { step: number; epoch: number; loss: number; seconds: number; liveBytes?: number; heapBytes?: number }

function run(extra: string[]): { kill: () => void; done: Promise<{ code: number | null; signal: string | null; stderr: string }> } {
  const child = spawn(process.execPath, [...args, ...extra], { cwd: resolve(__dirname, '..'), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: string | null; stderr: string }>((ok, fail) => {
    child.on('error', fail);
    child.on('close', (code, signal) => ok({ code, signal, stderr }));
  });
  return { kill: () => child.kill('SIGKILL'), done };
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

describe.skipIf(!LONG || !existsSync(OMNIGLOT))('2,000 hybridized steps, killed and resumed (WEBGLUON_LONG=1)', () => {
  it('loses nothing, and memory stays flat', async () => {
    // Killed at a moment drawn at random between the first checkpoint and the middle of the run.
    const started = Date.now();
    const first = run([]);
    const checkpoint = join(out, 'checkpoint.json');
    while (!existsSync(checkpoint)) await new Promise((r) => setTimeout(r, 200));
    const epochMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, Math.random() * epochMs * (EPOCHS / 2 - 1)));
    first.kill();
    const r1 = await first.done;
    expect(r1.signal, 'the run finished before it could be killed').toBe('SIGKILL');
    const before = JSON.parse(readFileSync(checkpoint, 'utf8')) as { epoch: number };
    console.log(`killed after ${((Date.now() - started) / 1000).toFixed(0)} s, at checkpoint epoch ${before.epoch}`);

    const r2 = await run(['--resume']).done;
    expect(r2.code, r2.stderr).toBe(0);
    const steps = (JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { steps: Metric[] }).steps;
    expect(steps.map((m) => m.step)).toEqual(Array.from({ length: STEPS_PER_EPOCH * EPOCHS }, (_, i) => i + 1));
    expect(steps.every((m) => Number.isFinite(m.loss))).toBe(true);
    for (const f of readdirSync(out).filter((n) => n.endsWith('.safetensors'))) {
      expect(f).not.toMatch(/\.tmp-/);
      const tensors = decodeSafetensors(new Uint8Array(readFileSync(join(out, f))), f);
      for (const t of tensors.values()) expect(t.data.every(Number.isFinite)).toBe(true);
    }
    // Flat: the resumed process's memory at its last step against its first after warm-up.
    const resumed = steps.slice(before.epoch * STEPS_PER_EPOCH);
    const [warm, end] = [resumed[10], resumed[resumed.length - 1]];
    console.log(`resumed run: live GPU ${mib(warm.liveBytes!)} → ${mib(end.liveBytes!)}, JS heap ${mib(warm.heapBytes!)} → ${mib(end.heapBytes!)}; ` +
      `loss ${steps[0].loss.toFixed(3)} (step 1) → ${end.loss.toFixed(3)} (step ${end.step})`);
    expect(end.liveBytes!).toBeLessThanOrEqual(warm.liveBytes! * 1.25 + 2 ** 20);
    expect(end.heapBytes!).toBeLessThanOrEqual(warm.heapBytes! + 32 * 2 ** 20);
  }, 7_200_000);
});
