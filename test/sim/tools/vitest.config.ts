import { defineConfig } from 'vitest/config'

// The simulation's tools (replay one seed, soak many), outside `npm test`.
export default defineConfig({
  test: {
    include: ['test/sim/tools/*.sim.ts'],
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 24 * 3600_000,
    reporters: ['dot'],
  },
})
