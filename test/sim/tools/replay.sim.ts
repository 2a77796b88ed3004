import { it } from 'vitest'
import { runnerFromEnv } from '../run.js'

// One seed, with its trace: npm run sim -- --seed N [--overlay | --calm] [--grep REGEX] [--lines N] [--frames UID-REGEX]
it('replays one seed', async () => {
  const seed = Number(process.env.SIM_SEED ?? 1)
  const t0 = Date.now()
  const r = await runnerFromEnv()(seed)
  const grep = new RegExp(process.env.SIM_GREP ?? '.')
  const lines = r.trace.filter((l) => grep.test(l)).slice(-Number(process.env.SIM_LINES ?? 400))
  console.log(`${lines.join('\n')}\n\nseed ${seed}: ${r.events} events, ${Date.now() - t0} ms, ${JSON.stringify(r.stats)}`)
  console.log(r.violations.length ? `VIOLATIONS:\n  ${r.violations.join('\n  ')}` : 'no violations')
}, 600_000)
