import { defineConfig } from 'vitest/config';

// Property, fuzz and simulator tests do real work: give them room on a loaded 2-core machine.
// A timeout is a hang detector here, never a performance check.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 60_000 },
});
