// one-off: print what the user sees for each bad input / fault (for the closing note)
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autograd, gluon, init, nd, type F, type Tensor } from '../src/index.js';
import { ContrastiveLoss } from '../examples/siamese/model.js';
import { encodePng } from '../src/data/png.js';
import { HostArray } from '../src/data/host_array.js';
import { getDevice, destroyDevice } from '../src/runtime/device.js';
const show = (what: string, e: unknown) => console.log(`### ${what}\n${e instanceof Error ? e.message : String(e)}\n`);
const tryIt = async (what: string, fn: () => unknown) => { try { await fn(); show(what, 'NO ERROR'); } catch (e) { show(what, e); } };
const dir = mkdtempSync(join(tmpdir(), 'msgs-'));
class Tower extends gluon.HybridBlock {
  readonly cnn = new gluon.nn.HybridSequential();
  constructor() { super(); this.cnn.add(new gluon.nn.Conv2D(4, 3, { activation: 'relu' }), new gluon.nn.MaxPool2D({ poolSize: 2 }), new gluon.nn.Dense(5)); }
  override hybridForward(_F: F, x: Tensor): Tensor { return this.cnn.forward(x) as Tensor; }
}
const net = new Tower(); net.initialize(new init.Xavier()); net.hybridize();
net.forward(nd.zeros([2, 1, 8, 8]));
await tryIt('rank', () => net.forward(nd.zeros([2, 8, 8])));
await tryIt('dense size', () => net.forward(nd.zeros([2, 1, 10, 10])));
await tryIt('dtype', () => net.forward(nd.zeros([2, 1, 8, 8], { dtype: 'int32' })));
await tryIt('label', () => new gluon.loss.L2Loss().forward(nd.zeros([4, 3]), nd.zeros([4, 1])));
class ForgotKeepdims extends gluon.loss.Loss {
  override hybridForward(F: F, a: Tensor, b: Tensor, label: Tensor): Tensor {
    const d = F.sum(F.square(F.sub(a, b)), 1); return F.mul(F.sub(1, label), d);
  }
}
await tryIt('pitfall a', () => new ForgotKeepdims().forward(nd.ones([4, 2]), nd.zeros([4, 2]), nd.array([[0], [1], [1], [0]])));
await tryIt('pitfall c', () => { const x = nd.array([1, 3, 2]); x.attachGrad(); const y = autograd.record(() => nd.argmax(x, 0)); y.backward(); });
process.on('warning', (w) => show('pitfall d (warning)', w));
new gluon.loss.SigmoidBinaryCrossEntropyLoss().forward(nd.sigmoid(nd.zeros([2, 1])), nd.zeros([2, 1]));
await new Promise((r) => setTimeout(r, 50));
autograd.detectAnomaly(true);
const a = nd.array([[1, 2], [3, 4]]); a.attachGrad();
await tryIt('pitfall b eager', async () => { const l = autograd.record(() => nd.sum(nd.log(nd.sub(a, 2)))); l.backward(); await l.data(); });
const loss = new ContrastiveLoss(); loss.hybridize();
await tryIt('pitfall b hybrid', async () => { const x = nd.array([[Number.NaN, 1]]); const y = nd.array([[0, 1]]); x.attachGrad(); const l = autograd.record(() => loss.forward(x, y, nd.array([[1]])) as Tensor); l.backward(); await l.data(); });
autograd.detectAnomaly(false);
const png = encodePng(new HostArray(new Uint8Array(25).fill(9), [5, 5, 1]));
const root = join(dir, 'imgs'); mkdirSync(join(root, 'a'), { recursive: true });
writeFileSync(join(root, 'a/0.png'), png); writeFileSync(join(root, 'a/1.png'), encodePng(new HostArray(new Uint8Array(30).fill(9), [6, 5, 1])));
await tryIt('sizes', async () => { const l = new gluon.data.DataLoader(new gluon.data.vision.ImageFolderDataset(root, { flag: 0 }), { batchSize: 2 }); for await (const _ of l) { /**/ } });
const bad = join(dir, 'bad'); mkdirSync(join(bad, 'a'), { recursive: true }); writeFileSync(join(bad, 'a/0.png'), png.subarray(0, 40));
await tryIt('truncated png', async () => { const l = new gluon.data.DataLoader(new gluon.data.vision.ImageFolderDataset(bad, { flag: 0 }), { batchSize: 1 }); for await (const _ of l) { /**/ } });
mkdirSync(join(dir, 'empty'));
await tryIt('empty folder', () => new gluon.data.vision.ImageFolderDataset(join(dir, 'empty')));
await tryIt('missing folder', () => new gluon.data.vision.ImageFolderDataset(join(dir, 'nope')));
await net.saveParameters(join(dir, 'p.safetensors'));
const { readFileSync } = await import('node:fs');
const bytes = readFileSync(join(dir, 'p.safetensors'));
writeFileSync(join(dir, 'cut.safetensors'), bytes.subarray(0, bytes.length - 7));
await tryIt('truncated params', () => net.loadParameters(join(dir, 'cut.safetensors')));
writeFileSync(join(dir, 'w.npz'), Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(60)]));
await tryIt('foreign params', () => net.loadParameters(join(dir, 'w.npz')));
const other = new gluon.nn.Dense(3, { inUnits: 2 }); other.initialize();
await other.saveParameters(join(dir, 'other.safetensors'));
await tryIt('mismatched params', () => net.loadParameters(join(dir, 'other.safetensors')));
await tryIt('save to a file path', () => net.saveParameters(join(dir, 'p.safetensors', 'x.safetensors')));
const { maxBufferSize } = (await getDevice()).limits;
await tryIt('too big', () => nd.zeros([Math.floor(maxBufferSize / 4) + 4096]).data());
const kept = nd.exp(nd.zeros([1000])); await kept.data();
destroyDevice();
await tryIt('after lost device: old tensor', () => nd.add(kept, 1).data());
console.log('new device works:', Array.from(await nd.add(nd.array([1, 2]), 1).data()));
