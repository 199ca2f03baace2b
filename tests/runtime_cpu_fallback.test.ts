// Without a GPU adapter webgluon runs every kernel on the CPU reference: the same eager ops,
// autograd, compiled plans and their anomaly checks, selected here with WEBGLUON_BACKEND=cpu in a child process.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const script = `import { nd, autograd, gluon, runtime } from './src/index.js';
const x = nd.array([[1, -2], [3, 4]]);
x.attachGrad();
const y = autograd.record(() => nd.sum(nd.square(nd.relu(x))));
y.backward();
const dense = new gluon.nn.Dense(3, { inUnits: 2 });
dense.initialize();
dense.hybridize();
const out = dense.forward(x);
const ok = Array.from(await out.data());
autograd.detectAnomaly(true);
let anomaly = '';
await dense.forward(nd.array([[Infinity, 1]])).data().catch((e) => { anomaly = e.message; });
const checked = Array.from(await dense.forward(x).data());
console.log(JSON.stringify({ y: await y.item(), grad: Array.from(await x.grad.data()), dense: out.shape, dispatches: runtime.stats().dispatches,
  anomaly, same: JSON.stringify(ok) === JSON.stringify(checked) }));`;

describe('CPU fallback', () => {
  it('runs eager ops, autograd and hybridized blocks on the CPU reference', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, WEBGLUON_BACKEND: 'cpu' },
    });
    expect(res.status, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout.trim().split('\n').pop()!);
    expect(out.y).toBe(26);
    expect(out.grad).toEqual([2, 0, 6, 8]);
    expect(out.dense).toEqual([2, 3]);
    expect(out.dispatches).toBeGreaterThan(0);
    // Anomaly detection's check kernel has a CPU version too.
    expect(out.anomaly).toMatch(/NaN\/Inf value\(s\) in the output of `dot\+add` .* input ranges: \[1\.000, 1\.000\] with 1 NaN\/Inf/);
    expect(out.same).toBe(true);
  });

  it('falls back with a one-line warning when Dawn finds no adapter', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e',
      "import { nd } from './src/index.js'; console.log(JSON.stringify(Array.from(await nd.add(nd.array([1, 2]), 1).data())));"], {
      encoding: 'utf8', timeout: 60_000,
      // Points the Vulkan loader at no driver, as on a machine without one.
      env: { ...process.env, VK_ICD_FILENAMES: '/nonexistent.json', VK_DRIVER_FILES: '/nonexistent.json', WEBGLUON_BACKEND: '' },
    });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout.trim()).toBe('[2,3]');
    expect(res.stderr.match(/^webgluon: no WebGPU adapter; running on the CPU reference/m)).not.toBeNull();
  });
});
