import { defineConfig } from 'vitest/config';

// Properties run with fixed seeds (see properties/seed.ts); a slow oracle test
// may take a while, so the per-test timeout is generous.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
