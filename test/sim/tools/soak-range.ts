import { runnerFromEnv } from '../run.js'

// Seeds SIM_FROM..SIM_TO, one line per failing seed, progress every 1,000 and a summary (read by
// scripts/sim.mjs soak, which runs this bundled: the soak's seeds then cost no test runner).
// SIM_OVERLAY: the overlay world's seeds (`calm`: the calm overlay world's; run.ts, runnerFromEnv).
const run = runnerFromEnv()
const from = Number(process.env.SIM_FROM ?? 1)
const to = Number(process.env.SIM_TO ?? 1000)
const t0 = Date.now()
const totals = { peerSends: 0, deliveries: 0, channelSends: 0, dropNotices: 0, compactions: 0, downloads: 0, downloadsOk: 0, events: 0 }
let failed = 0
for (let seed = from; seed <= to; seed++) {
  let violations: string[]
  try {
    const r = await run(seed)
    totals.events += r.events
    for (const k of ['peerSends', 'deliveries', 'channelSends', 'dropNotices', 'compactions', 'downloads', 'downloadsOk'] as const) totals[k] += r.stats[k]
    violations = r.violations
  } catch (err) {
    violations = [`threw ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`]
  }
  if (violations.length) {
    failed++
    process.stdout.write(`FAIL seed ${seed}: ${violations.slice(0, 5).join(' | ').replace(/\n/g, ' ')}\n`)
  }
  if ((seed - from) % 1000 === 999) process.stdout.write(`progress ${seed - from + 1} seeds, ${failed} failed, ${Math.round((Date.now() - t0) / 1000)} s\n`)
}
process.stdout.write(`SUMMARY ${from}-${to}: ${to - from + 1} seeds, ${failed} failed, ${Math.round((Date.now() - t0) / 1000)} s, ${JSON.stringify(totals)}\n`)
