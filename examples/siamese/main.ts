// `npm start`: the tutorial end to end on the built-in glyph data — train the Siamese network
// with the contrastive loss, test it on held-out alphabets, and write the pictures. Takes train's
// flags (`npm start -- --help`), with a smaller run by default.
import { join } from 'node:path';
import { makeOneshotRuns } from '../../src/data/oneshot_runs.js';
import { cacheDir, COMMANDS, parseCommand, reportUsageError, runOneshot, trainingOptions, UsageError, type ParsedCommand } from './cli.js';
import { train } from './train.js';

async function start(parsed: ParsedCommand): Promise<void> {
  // Sized to finish in a few minutes on a 2-core machine with Dawn on lavapipe.
  const opts = await trainingOptions(parsed.flags, { 'image-size': 52, 'steps-per-epoch': 25, epochs: 2 });
  console.log(`training on ${opts.trainDirs.length} alphabets, testing on ${opts.testDirs.length} held-out ones; ` +
    `${opts.epochs} epochs of ${opts.stepsPerEpoch} steps, batch ${opts.batchSize}, ${opts.imageSize}x${opts.imageSize} images, ` +
    `${opts.hybridize ? 'hybridized' : 'eager'}`);
  const result = await train(opts);
  const first = result.metrics.slice(0, 5).reduce((s, m) => s + m.loss, 0) / Math.min(5, result.metrics.length);
  const last = result.metrics.slice(-5).reduce((s, m) => s + m.loss, 0) / Math.min(5, result.metrics.length);
  console.log(`loss: ${first.toFixed(3)} over the first 5 steps → ${last.toFixed(3)} over the last 5`);
  console.log(`test pairs: mean distance ${result.distances.same.toFixed(3)} (same character) vs ${result.distances.different.toFixed(3)} (different)`);

  const runsDir = join(cacheDir(), 'oneshot-runs-v1');
  await makeOneshotRuns({ alphabetDirs: [...opts.testDirs], outDir: runsDir, runs: 10, seed: 1 });
  await runOneshot(runsDir, result.paramsPath, opts.imageSize, join(opts.out, 'oneshot.json'));
  console.log(`pictures: ${join(opts.out, 'loss-curve.png')} and ${join(opts.out, 'pairs.png')}; metrics: ${join(opts.out, 'metrics.json')}`);
}

try {
  const parsed = parseCommand('train', process.argv.slice(2));
  if (parsed.help) console.log(COMMANDS.train.usage.replace('webgluon-siamese train', 'npm start --') + '\n(npm start defaults: --image-size 52 --steps-per-epoch 25 --epochs 2)');
  else await start(parsed);
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  reportUsageError(e);
}
