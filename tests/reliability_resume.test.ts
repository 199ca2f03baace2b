// An interrupted training run: the Siamese example is killed (SIGKILL, no chance to clean up)
// once its first checkpoint exists, then run again with --resume. It must continue from the last
// checkpoint, with every parameter file whole and the metrics carrying on where they stopped.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../src/nn/serialization.js';

const root = mkdtempSync(join(tmpdir(), 'webgluon-resume-'));
const out = join(root, 'out');
const env = { ...process.env, WEBGLUON_CACHE: join(root, 'cache') };
const args = ['--import', 'tsx', 'examples/siamese/cli.ts', 'train', '--steps-per-epoch', '2', '--epochs', '3', '--image-size', '28', '--out', out];
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; with `killWhen`, SIGKILLs it as soon as that file exists. */
function run(extra: string[], killWhen?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, ...extra], { cwd: process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const poll = killWhen ? setInterval(() => existsSync(killWhen) && child.kill('SIGKILL'), 10) : null;
    const limit = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (poll) clearInterval(poll);
      clearTimeout(limit);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const PARAMS = ['cnn.0.weight', 'cnn.0.bias', 'cnn.2.weight', 'cnn.2.bias', 'cnn.4.weight', 'cnn.4.bias', 'cnn.5.weight', 'cnn.5.bias'];

/** Every parameter file in `out` parses completely and holds the Siamese network's parameters. */
function expectWholeParameterFiles(): string[] {
  const files = readdirSync(out).filter((f) => f.includes('.safetensors'));
  for (const f of files) {
    expect(f, 'a temp file left behind').not.toMatch(/\.tmp-/);
    const tensors = decodeSafetensors(new Uint8Array(readFileSync(join(out, f))), f);
    expect([...tensors.keys()].sort()).toEqual([...PARAMS].sort());
    for (const t of tensors.values()) expect(t.data.every(Number.isFinite)).toBe(true);
  }
  return files;
}

interface StepMetric {
  step: number;
  epoch: number;
  loss: number;
}

describe('an interrupted training run', () => {
  it('resumes from its last checkpoint after SIGKILL, with whole parameter files and continuing metrics', async () => {
    const checkpoint = join(out, 'checkpoint.json');
    const killed = await run([], checkpoint);
    expect(killed.signal, `the first run ended by itself:\n${killed.stdout}\n${killed.stderr}`).toBe('SIGKILL');
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as { epoch: number; metrics: StepMetric[]; params: string };
    expect(saved.epoch).toBeGreaterThanOrEqual(1);
    expect(saved.metrics).toHaveLength(2 * saved.epoch);
    expect(existsSync(join(out, saved.params))).toBe(true);
    expectWholeParameterFiles();
    expect(existsSync(join(out, 'metrics.json'))).toBe(false);

    const resumed = await run(['--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`resuming after epoch ${saved.epoch} (${2 * saved.epoch} steps done)`);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { steps: StepMetric[] };
    expect(metrics.steps.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(metrics.steps.map((m) => m.epoch)).toEqual([0, 0, 1, 1, 2, 2]);
    // The steps before the interruption are the checkpoint's, unchanged.
    expect(metrics.steps.slice(0, saved.metrics.length)).toEqual(saved.metrics);
    expect(metrics.steps.every((m) => Number.isFinite(m.loss))).toBe(true);
    const final = JSON.parse(readFileSync(checkpoint, 'utf8')) as { epoch: number; params: string };
    expect(final.epoch).toBe(3);
    // Only the latest checkpoint's parameters and the final ones remain, all whole.
    expect(expectWholeParameterFiles().sort()).toEqual([final.params, 'siamese.safetensors'].sort());
  });

  it('refuses to resume with settings that do not fit the checkpoint', async () => {
    const bad = await run(['--resume', '--image-size', '32']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/cannot resume from .*checkpoint\.json: it was made with imageSize 28, this run has 32; use the same settings, or another --out/);
  });
});
