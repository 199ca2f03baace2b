// autograd.record / pause / trainMode / predictMode are scoped, not global: in Node an
// AsyncLocalStorage carries the scope across the awaits of an async function, so work run
// meanwhile (a timer, another record, another training loop, another Block's forward) neither
// sees nor changes it. Each case compares its numbers with the same work run alone. With the
// synchronous default context (a browser), record(async fn) is refused with a GraphError.
import { describe, expect, it } from 'vitest';
import { autograd, gluon, GraphError, init, nd, type Tensor } from '../src/index.js';
import type { HybridBlock } from '../src/nn/hybrid_block.js';
import { close } from './nn_helpers.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const values = async (t: Tensor) => Array.from(await t.data());

/** d(Σ x³)/dx computed by a synchronous record, alone. */
async function cubeGradAlone(xs: number[]): Promise<number[]> {
  const x = nd.array(xs).attachGrad();
  autograd.record(() => nd.sum(nd.mul(nd.square(x), x))).backward();
  return values(x.grad!);
}

describe('an async record() covers its own awaits only', () => {
  it('an op run by a timer while record() awaits is not recorded; the ops inside are', async () => {
    const xs = [1, -2, 3];
    const expected = await cubeGradAlone(xs);
    const x = nd.array(xs).attachGrad();
    let inTimer: Tensor | null = null;
    let recordingInTimer: boolean | null = null;
    let trainingInTimer: boolean | null = null;
    // Scheduled outside the record: it belongs to the test, not to the recorded function.
    const timer = new Promise<void>((resolve) => setTimeout(() => {
      recordingInTimer = autograd.isRecording();
      trainingInTimer = autograd.isTraining();
      inTimer = nd.mul(x, 2);
      resolve();
    }, 5));
    const loss = await autograd.record(async () => {
      const sq = nd.square(x);
      expect(autograd.isRecording()).toBe(true);
      await timer; // the timer fires while this awaits
      expect(autograd.isRecording()).toBe(true);
      const cube = nd.mul(sq, x);
      await sleep(1);
      expect(autograd.isTraining()).toBe(true);
      return nd.sum(cube);
    });
    expect(autograd.isRecording()).toBe(false);
    expect(recordingInTimer).toBe(false);
    expect(trainingInTimer).toBe(false);
    expect(inTimer!._entry).toBeNull();
    expect(inTimer!.requiresGrad).toBe(false);
    expect(await values(inTimer!)).toEqual([2, -4, 6]);
    expect(loss._entry).not.toBeNull();
    loss.backward();
    close(await values(x.grad!), expected, 1e-6, 'gradient of the record that awaited');
  });

  it('two overlapping record(async …): each gets the gradient it gets alone, and neither leaves recording on', async () => {
    const xa = [0.5, 1, -1.5];
    const xb = [2, -0.25, 4, 1];
    const aloneA = await cubeGradAlone(xa);
    const aloneB = await cubeGradAlone(xb);
    const a = nd.array(xa).attachGrad();
    const b = nd.array(xb).attachGrad();
    // A starts first and ends first; B starts inside A and computes its last op after A ended.
    const runA = autograd.record(async () => {
      const sq = nd.square(a);
      await sleep(10);
      return nd.sum(nd.mul(sq, a));
    });
    const runB = autograd.record(async () => {
      await sleep(2);
      const sq = nd.square(b);
      await sleep(20);
      expect(autograd.isRecording()).toBe(true);
      return nd.sum(nd.mul(sq, b));
    }, { trainMode: false });
    expect(autograd.isRecording()).toBe(false);
    const [la, lb] = await Promise.all([runA, runB]);
    expect(autograd.isRecording()).toBe(false);
    expect(autograd.isTraining()).toBe(false);
    la.backward();
    lb.backward();
    close(await values(a.grad!), aloneA, 1e-6, 'A overlapped vs alone');
    close(await values(b.grad!), aloneB, 1e-6, 'B overlapped vs alone');
  });

  it('pause() and predictMode() inside an async record hold across awaits, and end with it', async () => {
    const x = nd.array([1, 2]).attachGrad();
    const seen: boolean[][] = [];
    const note = () => seen.push([autograd.isRecording(), autograd.isTraining()]);
    await autograd.record(async () => {
      await autograd.pause(async () => {
        await sleep(1);
        note(); // paused, not training
        expect(nd.square(x)._entry).toBeNull();
      });
      note(); // recording, training
      await autograd.predictMode(async () => {
        await sleep(1);
        note(); // recording, not training
      });
      return nd.sum(x);
    });
    note();
    expect(seen).toEqual([[false, false], [true, true], [true, false], [false, false]]);
  });
});

interface Loop {
  net: HybridBlock;
  trainer: InstanceType<typeof gluon.Trainer>;
  x: Tensor;
  y: Tensor;
}

/** A small MLP, data and a Trainer, all made here (fixed seed), before any loop runs. */
function makeLoop(seed: number, units: number, hybrid: boolean, optimizer: 'sgd' | 'adam'): Loop {
  nd.random.seed(seed);
  const net = new gluon.nn.HybridSequential().add(
    new gluon.nn.Dense(units, { inUnits: 3, activation: 'tanh' }),
    new gluon.nn.Dense(1, { inUnits: units }),
  );
  net.initialize(new init.Xavier());
  if (hybrid) net.hybridize();
  const x = nd.random.normal(0, 1, [8, 3]);
  const y = nd.random.normal(0, 1, [8, 1]);
  const trainer = new gluon.Trainer(net.collectParams(), optimizer, { learningRate: 0.05 });
  return { net, trainer, x, y };
}

const l2 = new gluon.loss.L2Loss();

/** Training steps whose forward pass awaits in the middle of record(); the losses read with item(). */
async function train(loop: Loop, steps: number, pauseMs: number): Promise<number[]> {
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const loss = await autograd.record(async () => {
      const out = loop.net.forward(loop.x) as Tensor;
      await sleep(pauseMs);
      return nd.mean(l2.forward(out, loop.y) as Tensor);
    });
    loss.backward();
    loop.trainer.step(8);
    losses.push(await loss.item());
    await sleep(pauseMs);
  }
  return losses;
}

describe('concurrent work on one device gives the numbers it gives alone', () => {
  it('two training loops interleaved (one eager, one hybridized) give the losses each gives alone', async () => {
    const STEPS = 5;
    const aloneA = await train(makeLoop(11, 6, false, 'sgd'), STEPS, 1);
    const aloneB = await train(makeLoop(12, 5, true, 'adam'), STEPS, 1);
    const loopA = makeLoop(11, 6, false, 'sgd');
    const loopB = makeLoop(12, 5, true, 'adam');
    const [a, b] = await Promise.all([train(loopA, STEPS, 2), train(loopB, STEPS, 3)]);
    expect(autograd.isRecording()).toBe(false);
    close(a, aloneA, 1e-6, 'eager SGD loop interleaved vs alone');
    close(b, aloneB, 1e-6, 'hybridized Adam loop interleaved vs alone');
    expect(aloneA[STEPS - 1]).toBeLessThan(aloneA[0]);
    expect(aloneB[STEPS - 1]).toBeLessThan(aloneB[0]);
  });

  it('Promise.all of forward passes through different Blocks, eager and hybridized, one of them recorded', async () => {
    nd.random.seed(5);
    const eager = new gluon.nn.HybridSequential().add(new gluon.nn.Dense(4, { inUnits: 3, activation: 'relu' }), new gluon.nn.Dense(2, { inUnits: 4 }));
    const hybrid = new gluon.nn.HybridSequential().add(new gluon.nn.Dense(5, { inUnits: 3, activation: 'sigmoid' }), new gluon.nn.Dense(3, { inUnits: 5 }));
    const other = new gluon.nn.Dense(2, { inUnits: 3, activation: 'tanh' });
    for (const b of [eager, hybrid, other]) b.initialize(new init.Xavier());
    hybrid.hybridize();
    const x = nd.random.normal(0, 1, [4, 3]);
    const blocks: HybridBlock[] = [eager, hybrid, other];

    const sequential: number[][] = [];
    for (const b of blocks) sequential.push(await values(b.forward(x) as Tensor));
    const recordedAlone = await values(autograd.record(() => hybrid.forward(x) as Tensor));

    /** Two forward passes of one Block with awaits between: outputs, and whether each was on the tape. */
    const pass = async (b: HybridBlock, delay: number) => {
      await sleep(delay);
      const first = b.forward(x) as Tensor;
      await sleep(delay);
      const second = b.forward(x) as Tensor;
      return { first: await values(first), second: await values(second), taped: first._entry !== null || second._entry !== null };
    };
    const [recorded, ...plain] = await Promise.all([
      autograd.record(async () => {
        await sleep(1);
        const out = hybrid.forward(x) as Tensor;
        await sleep(6);
        return { out, again: hybrid.forward(x) as Tensor };
      }),
      pass(eager, 2),
      pass(hybrid, 3),
      pass(other, 1),
    ]);
    plain.forEach((r, i) => {
      close(r.first, sequential[i], 1e-6, `block ${i} first pass concurrent vs sequential`);
      close(r.second, sequential[i], 1e-6, `block ${i} second pass concurrent vs sequential`);
      expect(r.taped).toBe(false); // not recorded, though a record() was open meanwhile
    });
    expect(recorded.out._entry).not.toBeNull();
    expect(recorded.again._entry).not.toBeNull();
    close(await values(recorded.out), recordedAlone, 1e-6, 'recorded hybridized pass vs alone');
    close(await values(recorded.again), recordedAlone, 1e-6, 'second recorded hybridized pass vs alone');
    expect(autograd.isRecording()).toBe(false);
  });

  it('a readback raced against dispose() returns the right values or a clear error, never garbage, never a hang', async () => {
    const N = 1000;
    const want = Array.from({ length: N }, (_, i) => i + 1);
    /** Awaits a readback: the values, or the error it gave; 'hang' if it took more than 30 s. */
    const settle = (p: Promise<Float32Array | Int32Array>) => Promise.race([
      p.then((v) => ({ values: Array.from(v) }), (e: Error) => ({ error: e })),
      sleep(30_000).then(() => 'hang' as const),
    ]);
    const check = (r: Awaited<ReturnType<typeof settle>>, what: string) => {
      expect(r, what).not.toBe('hang');
      if (r === 'hang') return;
      if ('error' in r) expect(r.error.message, what).toMatch(/webgluon: .*dispos/);
      else expect(r.values, what).toEqual(want);
    };
    for (let round = 0; round < 3; round++) {
      // Leave pooled buffers of the same size full of other numbers, so a read of one would show.
      const junk = nd.add(nd.array(new Array(N).fill(-7)), 0);
      await junk.data();
      junk.dispose();
      // An upload not yet flushed, disposed before the read begins its work.
      const uploaded = nd.array(want);
      const p1 = uploaded.data();
      uploaded.dispose();
      check(await settle(p1), `round ${round}: uploaded`);
      // A computed value still queued.
      const computed = nd.add(nd.array(want.map((v) => v - 1)), 1);
      const p2 = computed.data();
      computed.dispose();
      check(await settle(p2), `round ${round}: computed`);
      // Two readbacks of one tensor, disposed between them.
      const twice = nd.mul(nd.array(want), 1);
      const p3 = twice.data();
      const p4 = twice.data();
      twice.dispose();
      check(await settle(p3), `round ${round}: first of two`);
      check(await settle(p4), `round ${round}: second of two`);
    }
    // The device still computes right afterwards.
    expect(await values(nd.add(nd.array([1, 2]), 1))).toEqual([2, 3]);
  });
});

describe('the synchronous default context (no AsyncLocalStorage, as in a browser)', () => {
  it('record(async fn) throws a GraphError saying to pass a synchronous function; sync record still works', async () => {
    const xs = [1, 2, -3];
    const expected = await cubeGradAlone(xs);
    const previous = autograd.setRecordingContext(null);
    try {
      const x = nd.array(xs).attachGrad();
      let ran = false;
      const asyncFn = async () => {
        ran = true;
        return nd.sum(x);
      };
      expect(() => autograd.record(asyncFn)).toThrow(GraphError);
      expect(() => autograd.record(asyncFn)).toThrow(/returns a Promise.*synchronous function/s);
      expect(ran).toBe(false); // refused before it ran
      // A plain function returning a Promise is refused too, after its synchronous part.
      expect(() => autograd.record(() => nd.sum(x).item())).toThrow(GraphError);
      expect(() => autograd.pause(async () => 1)).toThrow(/autograd\.pause\(\)/);
      expect(() => autograd.trainMode(async () => 1)).toThrow(GraphError);
      expect(autograd.isRecording()).toBe(false);
      expect(autograd.isTraining()).toBe(false);

      // Synchronous scopes nest and end as before.
      const seen: boolean[][] = [];
      const loss = autograd.record(() => {
        seen.push([autograd.isRecording(), autograd.isTraining()]);
        autograd.pause(() => seen.push([autograd.isRecording(), autograd.isTraining()]));
        autograd.predictMode(() => seen.push([autograd.isRecording(), autograd.isTraining()]));
        return nd.sum(nd.mul(nd.square(x), x));
      });
      expect(seen).toEqual([[true, true], [false, false], [true, false]]);
      expect(autograd.isRecording()).toBe(false);
      expect(() => autograd.record(() => {
        throw new RangeError('inside');
      })).toThrow(RangeError);
      expect(autograd.isRecording()).toBe(false);
      loss.backward();
      close(await values(x.grad!), expected, 1e-6, 'gradient under the synchronous default');
    } finally {
      autograd.setRecordingContext(previous);
    }
    // The AsyncLocalStorage is back: async functions are taken again.
    const y = nd.array([3]).attachGrad();
    (await autograd.record(async () => nd.sum(nd.square(y)))).backward();
    expect(await values(y.grad!)).toEqual([6]);
  });
});
