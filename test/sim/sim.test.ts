import { describe, expect, it } from 'vitest'
import { runCalmOverlaySeed, runOverlaySeed, runSeed } from './run.js'

/**
 * The simulation in `npm test`: SIM_SEEDS seeds (default 500) from SIM_FROM (default 1), in
 * chunks. A failing seed prints its violations and how to replay it.
 */
const FROM = Number(process.env.SIM_FROM ?? 1)
const SEEDS = Number(process.env.SIM_SEEDS ?? 500)
const CHUNK = 25
/** The overlay world (world.ts, overlayOptionsFor): OVERLAY_SEEDS seeds (default 40) from SIM_FROM. */
const OVERLAY_SEEDS = Number(process.env.SIM_OVERLAY_SEEDS ?? 40)
/** The calm overlay world (world.ts, calmOverlayOptionsFor): CALM_SEEDS seeds (default 25) from SIM_FROM. */
const CALM_SEEDS = Number(process.env.SIM_CALM_SEEDS ?? 25)

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

describe('seeded simulation of a channel switching between copies and its overlay', () => {
  for (let start = FROM; start < FROM + OVERLAY_SEEDS; start += CHUNK) {
    const end = Math.min(start + CHUNK, FROM + OVERLAY_SEEDS) - 1
    it(`keeps every guarantee across the switches for seeds ${start}–${end}`, async () => {
      const failures: string[] = []
      let overlaySends = 0
      for (let seed = start; seed <= end; seed++) {
        const r = await runOverlaySeed(seed)
        overlaySends += r.stats.overlaySends
        if (r.violations.length) failures.push(`seed ${seed} (replay: npm run sim -- --seed ${seed} --overlay):\n    ${r.violations.slice(0, 10).join('\n    ')}`)
      }
      expect(failures.join('\n')).toBe('')
      // The worlds did run their overlays (not only copies).
      expect(overlaySends).toBeGreaterThan(0)
    }, 120_000)
  }
})

describe('seeded simulation of a channel switching between copies and its overlay, without faults', () => {
  for (let start = FROM; start < FROM + CALM_SEEDS; start += CHUNK) {
    const end = Math.min(start + CHUNK, FROM + CALM_SEEDS) - 1
    it(`every member gets every message sent while it is in the channel, within 12 s, for seeds ${start}–${end}`, async () => {
      const failures: string[] = []
      for (let seed = start; seed <= end; seed++) {
        const r = await runCalmOverlaySeed(seed)
        if (r.violations.length) failures.push(`seed ${seed} (replay: npm run sim -- --seed ${seed} --calm):\n    ${r.violations.slice(0, 10).join('\n    ')}`)
      }
      expect(failures.join('\n')).toBe('')
    }, 120_000)
  }
})
