import { defineConfig } from 'vitest/config';

// One GPU device per worker process: Dawn on lavapipe is slow to start and the machine has
// two cores, so files run in forked processes, two at a time.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/setup_node.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
