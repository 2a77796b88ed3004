import { it } from 'vitest'
import { runSeed } from './run.js'

// Runs seeds FROM..TO and prints the failing ones: FROM=1 TO=50 npx vitest run test/sim/batch.test.ts
it('a range of seeds', async () => {
  const from = Number(process.env.FROM ?? 1)
  const to = Number(process.env.TO ?? 20)
  let failed = 0
  const t0 = Date.now()
  for (let seed = from; seed <= to; seed++) {
    const r = await runSeed(seed)
    if (r.violations.length) {
      failed++
      console.log(`seed ${seed}: ${r.violations.length} violations\n  ${r.violations.slice(0, 6).join('\n  ')}`)
    }
  }
  console.log(`${to - from + 1} seeds, ${failed} failed, ${Date.now() - t0} ms`)
}, 3_600_000)
