// PyTorch on the CPU as a bench peer (system `pytorch-cpu`): bench/pytorch/bench.py runs in a
// child process with the harness's weights and inputs written to a temporary folder; each step is
// one line on its stdin and one JSON line back, timed by Python's own clock. Skipped, saying so,
// when no python3 with torch is found (setup does not install it: `apt-get install python3-torch`
// or `pip install torch`; WEBGLUON_BENCH_PYTHON names the interpreter to use).
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CONTRASTIVE_VARIANTS, contrastiveInputs, siameseBatch, siameseWeights, type Runner, type Skipped } from '../harness.js';

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'pytorch', 'bench.py');

/** The first interpreter that imports torch: $WEBGLUON_BENCH_PYTHON, python3, /usr/bin/python3. */
export function findTorchPython(): { python: string; version: string } | { tried: string[] } {
  const candidates = [process.env.WEBGLUON_BENCH_PYTHON, 'python3', '/usr/bin/python3', 'python'].filter((c): c is string => !!c);
  const tried: string[] = [];
  for (const python of [...new Set(candidates)]) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { python, version: r.stdout.trim() };
    tried.push(python);
  }
  return { tried };
}

function writeF32(dir: string, name: string, a: Float32Array): void {
  writeFileSync(join(dir, `${name}.f32`), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

type Reply = { ms?: number; cpuMs?: number; value?: number | null; check?: Record<string, number | number[]>; ready?: boolean; torch?: string; threads?: number; mkldnn?: boolean };

class TorchChild {
  private lines: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private ended = false;
  private stderr = '';

  constructor(private child: ChildProcessWithoutNullStreams) {
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (l) => {
      if (this.waiting) { const w = this.waiting; this.waiting = null; w(l); } else this.lines.push(l);
    });
    child.stderr.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-4000); });
    child.on('close', () => {
      this.ended = true;
      if (this.waiting) { const w = this.waiting; this.waiting = null; w(null); }
    });
  }

  private next(): Promise<string | null> {
    if (this.lines.length) return Promise.resolve(this.lines.shift()!);
    if (this.ended) return Promise.resolve(null);
    return new Promise((done) => (this.waiting = done));
  }

  async reply(): Promise<Reply> {
    for (;;) {
      const line = await this.next();
      if (line === null) throw new Error(`bench/pytorch/bench.py ended:\n${this.stderr.trim()}`);
      if (line.startsWith('{')) return JSON.parse(line) as Reply;
    }
  }

  async ask(cmd: string): Promise<Reply> {
    this.child.stdin.write(`${cmd}\n`);
    return this.reply();
  }

  close(): void {
    if (!this.ended) this.child.stdin.end('quit\n');
  }
}

/** Starts bench.py for a case with the harness's data; `{skipped}` without torch. */
export async function pytorchRunner(caseName: string, variant: string): Promise<Runner | Skipped> {
  const found = findTorchPython();
  if ('tried' in found) {
    return { skipped: `PyTorch not found: no Python with torch (tried ${found.tried.join(', ')}); install it with apt-get install python3-torch or pip install torch, or set WEBGLUON_BENCH_PYTHON` };
  }
  const dir = mkdtempSync(join(tmpdir(), 'webgluon-bench-pytorch-'));
  const extra: string[] = [];
  let items: Runner['items'];
  if (caseName === 'siamese-train' || caseName === 'siamese-forward') {
    const w = siameseWeights();
    for (const [k, v] of Object.entries(w)) writeF32(dir, k, v);
    const batch = siameseBatch();
    writeF32(dir, 'x1', batch.x1);
    writeF32(dir, 'x2', batch.x2);
    writeF32(dir, 'label', batch.label);
    items = { count: batch.label.length, unit: 'pairs' };
  } else if (caseName === 'contrastive-loss') {
    const size = CONTRASTIVE_VARIANTS[variant || 'n262144xd2'];
    if (!size) throw new Error(`unknown variant ${variant}`);
    const host = contrastiveInputs(size.n, size.d);
    writeF32(dir, 'a', host.a);
    writeF32(dir, 'b', host.b);
    writeF32(dir, 'label', host.label);
    extra.push('--n', String(size.n), '--d', String(size.d));
    items = { count: size.n, unit: 'rows' };
  } else {
    return { skipped: `no pytorch-cpu implementation for ${caseName}` };
  }
  const args = [SCRIPT, '--case', caseName, '--variant', variant, '--data', dir, ...extra];
  const child = new TorchChild(spawn(found.python, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', cleanup);
  const ready = await child.reply();
  let last: number | undefined;
  let lastCpu: number | undefined;
  return {
    adapter: `PyTorch ${ready.torch} CPU (${ready.threads} threads of ${cpus().length} cores, oneDNN ${ready.mkldnn ? 'on' : 'off'}), ${cpus()[0]?.model ?? '?'}`,
    items,
    notes: [`python: ${found.python}`, 'timed by Python around one step (the pipe to it excluded)'],
    async step() {
      const r = await child.ask('step');
      last = r.ms;
      lastCpu = r.cpuMs;
      return typeof r.value === 'number' ? r.value : undefined;
    },
    lastStepMs: () => last,
    lastStepCpuMs: () => lastCpu,
    async check() {
      const r = await child.ask('check');
      return r.check ?? {};
    },
    close() {
      child.close();
      cleanup();
    },
  };
}
