import { describe, expect, it } from 'vitest'
import { OVERLAY_LIMITS } from '@plaza/client/overlay'
import { DEFAULT_SIM, formatResult, runOverlaySim, type OverlaySimOptions } from './overlay/world.js'

/**
 * The channel overlay in a few small seeded simulations (`npm run sim -- --members N --seed S`
 * runs big ones): every message reaches every member present throughout exactly once and in its
 * origin's order, and no member holds more than D_high links, under churn and loss.
 */
const FROM = Number(process.env.SIM_FROM ?? 1)
const small: OverlaySimOptions = { ...DEFAULT_SIM, members: 200, senders: 6, messagesPerSender: 8, sendIntervalMs: 1000, warmupMs: 8000, drainMs: 15_000 }

describe('channel overlay simulation', () => {
  const cases: Array<[string, Partial<OverlaySimOptions>]> = [
    ['5%/min churn, 0.5% loss', {}],
    ['5%/min churn, 0.5% loss', {}],
    ['30%/min churn, 2% loss', { churnPerMin: 0.3, loss: 0.02 }],
  ]
  cases.forEach(([name, over], i) => {
    const seed = FROM + i
    it(`delivers every message once and in order, links ≤ D_high: 200 members, ${name} (seed ${seed})`, () => {
      const r = runOverlaySim({ ...small, ...over, seed })
      console.log(`seed ${seed} (replay: SIM_FROM=${FROM} npx vitest run test/sim/overlay.test.ts):\n${formatResult(r)}`)
      expect(r.violations).toEqual([])
      expect(r.messages).toBe(small.senders * small.messagesPerSender)
      expect(r.left).toBeGreaterThan(0)
      expect(r.deliveryRatio).toBe(1)
      expect(r.skipped).toBe(0)
      expect(r.linksMax).toBeLessThanOrEqual(OVERLAY_LIMITS.D_high)
      expect(r.linksMinStable).toBeGreaterThanOrEqual(1)
    }, 60_000)
  })
})
