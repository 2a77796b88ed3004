#!/usr/bin/env node
// npm run sim -- --seed N [--overlay] [--grep REGEX] [--lines N] [--frames UID-REGEX]: replays one seed of the simulation with its trace (--overlay: of its overlay world).
// npm run sim -- --members N [--seed S] [--senders K] [--messages M] [--churn F] [--loss P] [--latency pair|metric] [--flood 1|0|only] [--config JSON]: the channel overlay's simulation (then the same run as a flood).
// npm run soak -- --seeds N [--from F] [--jobs J] [--overlay | --calm]: runs N seeds (J processes), prints failing seeds and totals (--overlay: of the overlay world; --calm: without faults).
import { spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const mode = args.shift()
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : dflt
}
const vitest = (file, env) =>
  spawn('npx', ['vitest', 'run', '--config', 'test/sim/tools/vitest.config.ts', file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })

if (mode === 'replay' && opt('members')) {
  // The channel overlay's simulation (test/sim/overlay): --members N [--seed S] [--senders K] [--messages M] [--churn F] [--loss P] [--latency pair|metric] [--flood 1|0|only]
  const env = { SIM_MEMBERS: opt('members'), SIM_SEED: opt('seed', '1'), SIM_SENDERS: opt('senders', ''), SIM_MESSAGES: opt('messages', ''), SIM_CHURN: opt('churn', ''), SIM_LOSS: opt('loss', ''), SIM_FLOOD: opt('flood', '1'), SIM_LATENCY: opt('latency', 'pair'), SIM_CONFIG: opt('config', '') }
  const p = spawn('nice', ['-n', '5', 'npx', 'vitest', 'run', '--config', 'test/sim/tools/vitest.config.ts', 'test/sim/tools/overlay.sim.ts'], {
    // 10,000 members keep ~3 GB of caches and seen sets in one process: room for it, so GC does not thrash.
    env: { ...process.env, ...env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=8192` },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  p.stdout.pipe(process.stdout)
  p.on('exit', (code) => process.exit(code ?? 1))
} else if (mode === 'replay') {
  const env = { SIM_SEED: opt('seed', '1'), SIM_GREP: opt('grep', '.'), SIM_LINES: opt('lines', '400') }
  if (opt('frames')) env.SIM_FRAMES = opt('frames')
  if (args.includes('--overlay')) env.SIM_OVERLAY = '1'
  if (args.includes('--calm')) env.SIM_OVERLAY = 'calm'
  const p = vitest('test/sim/tools/replay.sim.ts', env)
  p.stdout.pipe(process.stdout)
  p.on('exit', (code) => process.exit(code ?? 1))
} else if (mode === 'soak') {
  // The seeds run in plain Node processes from one bundle of the simulation (no test runner
  // around them: ~1.4x the seeds per second), next to it so that packages resolve as in the repo.
  const { build } = await import('esbuild')
  const bundle = fileURLToPath(new URL(`../test/sim/tools/.soak-bundle-${process.pid}.mjs`, import.meta.url))
  await build({ entryPoints: [fileURLToPath(new URL('../test/sim/tools/soak-range.ts', import.meta.url))], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: bundle, logLevel: 'warning' })
  const seeds = Number(opt('seeds', '1000'))
  const from = Number(opt('from', '1'))
  const jobs = Math.max(1, Number(opt('jobs', '2')))
  const per = Math.ceil(seeds / jobs)
  const t0 = Date.now()
  let failed = 0
  let done = 0
  const summaries = []
  const ranges = []
  for (let j = 0; j < jobs; j++) {
    const a = from + j * per
    const b = Math.min(from + seeds - 1, a + per - 1)
    if (a <= b) ranges.push([a, b])
  }
  for (const [a, b] of ranges) {
    let summarised = false
    const p = spawn(process.execPath, [bundle], { env: { ...process.env, SIM_FROM: String(a), SIM_TO: String(b), ...(args.includes('--calm') ? { SIM_OVERLAY: 'calm' } : args.includes('--overlay') ? { SIM_OVERLAY: '1' } : {}) }, stdio: ['ignore', 'pipe', 'inherit'] })
    let buf = ''
    p.stdout.on('data', (d) => {
      buf += d
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        if (line.startsWith('FAIL')) {
          failed++
          console.log(line)
        } else if (line.startsWith('progress')) console.log(`[${a}-${b}] ${line}`)
        else if (line.startsWith('SUMMARY')) {
          summarised = true
          summaries.push(line)
        }
      }
    })
    // 'close', not 'exit': its last lines (the summary) may still be unread at 'exit'.
    p.on('close', (code, signal) => {
      // A job that died ran only part of its range: that is a failure, never "0 failed".
      if (code !== 0 || !summarised) {
        failed++
        console.log(`FAIL job ${a}-${b}: exited with ${signal ?? code}${summarised ? '' : ', no summary'}`)
      }
      if (++done < ranges.length) return
      rmSync(bundle, { force: true })
      for (const s of summaries) console.log(s)
      console.log(`soak: ${seeds} seeds from ${from}, ${failed} failed, ${Math.round((Date.now() - t0) / 1000)} s`)
      process.exit(failed ? 1 : 0)
    })
  }
} else {
  console.error('usage: npm run sim -- --seed N [--grep R] | npm run sim -- --members N [--seed S] | npm run soak -- --seeds N [--from F] [--jobs J]')
  process.exit(2)
}
