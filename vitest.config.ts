import { defineConfig } from 'vitest/config';

// The project's own tests (`npm run check`). Tests that share the sandbox cluster run one
// file at a time; each sets its own, longer timeouts where it waits on the cluster. Two
// stages run on their own (TODO_CHECK_STAGE, as scripts/check.sh sets it), on the same
// sandbox: the real node's demo and faults, which keep the stack deployed in todo-app, and
// last the lifecycle tests, which take the sandbox down.
const stages: Record<string, string> = {
  node: 'tests/node/**/*.test.ts',
  lifecycle: 'tests/lifecycle/**/*.test.ts',
};
const stage = process.env.TODO_CHECK_STAGE;
const staged = stage ? stages[stage] : undefined;

export default defineConfig({
  test: {
    include: staged ? [staged] : ['tests/**/*.test.ts'],
    exclude: staged ? [] : [...Object.values(stages), '**/node_modules/**'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 300_000,
    reporters: process.env.CI ? ['verbose'] : ['default'],
  },
});
