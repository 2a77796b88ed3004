import { configDefaults, defineConfig } from 'vitest/config'

// Real processes and real WebRTC: two files at a time (one per core), generous budgets.
// Then the heavy files (*.heavy.test.ts: hundreds of sessions in one process, 100k document
// writes), two at a time with nothing else; the browser tests last and alone (two Chromium
// profiles are the heaviest thing here).
const shared = {
  pool: 'forks' as const,
  testTimeout: 60_000,
  hookTimeout: 90_000,
  // Leak tests call gc() before they measure.
  execArgv: ['--expose-gc'],
}

const CORE = ['packages/*/test/**/*.test.ts', 'rendezvous/test/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/faults/**/*.test.ts', 'test/hostile/**/*.test.ts']
const HEAVY = '*.heavy.test.ts'

export default defineConfig({
  test: {
    maxWorkers: 2,
    projects: [
      {
        test: {
          ...shared,
          name: 'core',
          include: CORE,
          exclude: [...configDefaults.exclude, `**/${HEAVY}`],
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
          // Redis and three node processes per file (test/cluster).
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          ...shared,
          name: 'heavy',
          include: CORE.map((p) => p.replace('*.test.ts', HEAVY)),
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          ...shared,
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          // One file at a time: two Chromium profiles each.
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
})
