import { it } from 'vitest'
import { runSeed } from './run.js'

// Replays one seed: SEED=n [GREP=regex] npx vitest run test/sim/try.test.ts
it('one seed', async () => {
  const seed = Number(process.env.SEED ?? 1)
  const t0 = Date.now()
  const r = await runSeed(seed)
  console.log(JSON.stringify({ ...r, trace: undefined, ms: Date.now() - t0 }, null, 1))
  const grep = new RegExp(process.env.GREP ?? '.')
  if (r.violations.length || process.env.GREP) console.log(r.trace.filter((l) => grep.test(l)).slice(-Number(process.env.LINES ?? 150)).join('\n'))
}, 120_000)
