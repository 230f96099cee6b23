import { defineConfig } from 'vitest/config';

// The JSON reporter's file is what .ci/run reads to print its closing "N passed, N failed".
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/test-results.json' },
    pool: 'forks',
  },
});
