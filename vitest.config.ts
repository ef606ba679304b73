import { defineConfig } from 'vitest/config';

// The project's own tests (`npm run check`). Tests that share the sandbox cluster run one
// file at a time; each sets its own, longer timeouts where it waits on the cluster. The
// lifecycle tests take the shared sandbox down, so they run on their own, last
// (TODO_CHECK_STAGE=lifecycle, as scripts/check.sh does).
const lifecycle = 'tests/lifecycle/**/*.test.ts';
const stage = process.env.TODO_CHECK_STAGE;

export default defineConfig({
  test: {
    include: stage === 'lifecycle' ? [lifecycle] : ['tests/**/*.test.ts'],
    exclude: stage === 'lifecycle' ? [] : [lifecycle, '**/node_modules/**'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 300_000,
    reporters: process.env.CI ? ['verbose'] : ['default'],
  },
});
