import { defineConfig } from 'vitest/config';

// The cluster tests start real processes; run the files one after another so that they do not
// compete for the CI machine's two cores.
export default defineConfig({
  test: {
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
