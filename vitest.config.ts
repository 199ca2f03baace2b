import { defineConfig } from 'vitest/config';

// One GPU device per worker process: Dawn on lavapipe is slow to start and the machine has
// two cores, so files run in forked processes, two at a time.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/setup_node.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // The kernel tuner is off unless a test turns it on (tests/tune*.test.ts): a fresh tuning
    // cache would spend seconds searching inside whichever test compiles a big plan first, and
    // tests must not write ~/.cache. WEBGLUON_TUNE=1 npm test runs the suite with it on.
    env: { WEBGLUON_TUNE: process.env.WEBGLUON_TUNE ?? '0' },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
