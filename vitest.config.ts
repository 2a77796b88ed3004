import { relative } from 'node:path'
import { configDefaults, defineConfig } from 'vitest/config'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

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

/**
 * The files that take longest (seconds in CI on this project's 2-core machine, 2026-11-25), to
 * be started first in their group: a clean checkout has no timings cached, and vitest would start
 * them by file size, leaving one long file running alone at a group's end (the core group took
 * 458 s for ~330 s of work per worker). Files not listed keep vitest's own order after them.
 */
const LONGEST: Record<string, number> = {
  'test/e2e/overlay/overlay-64.heavy.test.ts': 84,
  'test/faults/chaos.test.ts': 82,
  'test/browser/media.test.ts': 73,
  'test/e2e/media/large.heavy.test.ts': 65,
  'rendezvous/test/channel-docs.heavy.test.ts': 55,
  'test/e2e/media/direct.test.ts': 53,
  'test/e2e/overlay/channel-overlay.test.ts': 50,
  'test/faults/client-crash.test.ts': 43,
  'test/e2e/channel-processes.test.ts': 42,
  'test/e2e/overlay/outside-overlay.test.ts': 41,
  'test/e2e/media/outside-attack.test.ts': 40,
  'test/sim/sim.test.ts': 38,
  'test/faults/packet-loss.test.ts': 31,
  'test/e2e/trust/large-channel.heavy.test.ts': 29,
  'test/browser/classroom-large.test.ts': 26,
  'test/faults/fuzz.test.ts': 19,
  'test/e2e/link-close.test.ts': 19,
  'test/cluster/redis-faults.test.ts': 18,
  'packages/client/test/delivery.test.ts': 18,
  'test/e2e/trust/channel-node-restart.test.ts': 17,
}

/** vitest's order, but within a group (sequence.groupOrder) the longest files first, whatever their project. */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files)
    const at = new Map(base.map((f, i) => [f, i]))
    const seconds = (f: TestSpecification) => LONGEST[relative(f.project.config.root, f.moduleId)] ?? 0
    return [...base].sort((a, b) => a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder || seconds(b) - seconds(a) || at.get(a)! - at.get(b)!)
  }
}

export default defineConfig({
  test: {
    maxWorkers: 2,
    sequence: { sequencer: LongestFirst },
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
