import { describe, expect, it } from 'vitest'
import { runSeed } from './run.js'

/**
 * The simulation in `npm test`: SIM_SEEDS seeds (default 500) from SIM_FROM (default 1), in
 * chunks. A failing seed prints its violations and how to replay it.
 */
const FROM = Number(process.env.SIM_FROM ?? 1)
const SEEDS = Number(process.env.SIM_SEEDS ?? 500)
const CHUNK = 25

describe('seeded simulation of clients and a node under faults', () => {
  for (let start = FROM; start < FROM + SEEDS; start += CHUNK) {
    const end = Math.min(start + CHUNK, FROM + SEEDS) - 1
    it(`keeps every guarantee for seeds ${start}–${end}`, async () => {
      const failures: string[] = []
      for (let seed = start; seed <= end; seed++) {
        const r = await runSeed(seed)
        if (r.violations.length) {
          failures.push(`seed ${seed} (replay: npm run sim -- --seed ${seed}):\n    ${r.violations.slice(0, 10).join('\n    ')}`)
        }
      }
      expect(failures.join('\n')).toBe('')
    }, 120_000)
  }

  it('replays a seed exactly, whatever ran before it in the process', async () => {
    const first = await runSeed(FROM + 7)
    await runSeed(FROM + 1)
    const again = await runSeed(FROM + 7)
    expect(again.events).toBe(first.events)
    expect(again.trace).toEqual(first.trace)
  }, 60_000)
})
