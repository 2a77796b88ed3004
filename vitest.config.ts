import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'rendezvous/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/bench/**'],
    // Real processes and real WebRTC: one file per core, generous per-test budgets.
    pool: 'forks',
    maxWorkers: 2,
    // Leak tests call gc() before they measure.
    execArgv: ['--expose-gc'],
    testTimeout: 60_000,
    hookTimeout: 90_000,
  },
})
