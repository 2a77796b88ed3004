import { defineConfig } from 'vitest/config'

// Real processes and real WebRTC: two files at a time (one per core), generous budgets.
// The browser tests run last and alone: two Chromium profiles are the heaviest thing here.
const shared = {
  pool: 'forks' as const,
  testTimeout: 60_000,
  hookTimeout: 90_000,
  // Leak tests call gc() before they measure.
  execArgv: ['--expose-gc'],
}

export default defineConfig({
  test: {
    maxWorkers: 2,
    projects: [
      {
        test: {
          ...shared,
          name: 'core',
          include: ['packages/*/test/**/*.test.ts', 'rendezvous/test/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/faults/**/*.test.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          // The seeded simulation (test/sim): in-process, CPU-bound; `npm run soak` runs many more seeds.
          name: 'sim',
          include: ['test/sim/**/*.test.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
})
