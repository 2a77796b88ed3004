import { check } from './checker.js'
import { World, calmOverlayOptionsFor, optionsFor, overlayOptionsFor, type SimOptions } from './world.js'

export interface SeedReport {
  seed: number
  violations: string[]
  events: number
  stats: { peerSends: number; deliveries: number; channelSends: number; overlaySends: number; virtualMs: number; dropNotices: number; compactions: number; downloads: number; downloadsOk: number }
  trace: string[]
}

/** Runs one seed from scratch; the same seed gives the same run. */
export async function runSeed(seed: number, overrides: Partial<SimOptions> = {}): Promise<SeedReport> {
  return runWorld(seed, { ...optionsFor(seed), ...overrides })
}

/** A seed of the overlay world (overlayOptionsFor): the channel switches to its overlay and back. */
export function runOverlaySeed(seed: number, overrides: Partial<SimOptions> = {}): Promise<SeedReport> {
  return runWorld(seed, { ...overlayOptionsFor(seed), ...overrides })
}

/** A seed of the calm overlay world (calmOverlayOptionsFor): the switches and members coming and going, no faults; every message must arrive, soon. */
export function runCalmOverlaySeed(seed: number, overrides: Partial<SimOptions> = {}): Promise<SeedReport> {
  return runWorld(seed, { ...calmOverlayOptionsFor(seed), ...overrides })
}

/** The world SIM_OVERLAY names: unset the ordinary one, `calm` the calm overlay world, anything else the overlay world. */
export function runnerFromEnv(v = process.env.SIM_OVERLAY): (seed: number) => Promise<SeedReport> {
  return !v ? runSeed : v === 'calm' ? runCalmOverlaySeed : runOverlaySeed
}

async function runWorld(seed: number, opts: SimOptions): Promise<SeedReport> {
  const world = new World(opts)
  const t0 = world.sched.now
  await world.run()
  const violations = await check(world)
  const counter = async (name: string) => ((await world.node!.metrics.registry.getSingleMetric(name)?.get())?.values[0]?.value ?? 0) as number
  return {
    seed,
    violations,
    events: world.sched.events,
    stats: {
      peerSends: world.log.peerSends.size,
      downloads: world.log.downloads.length,
      downloadsOk: world.log.downloads.filter((d) => d.outcome === 'ok').length,
      deliveries: world.log.deliveries.length,
      channelSends: world.log.channelSends.size,
      // Sent into the overlay: no per-member confirmation (copies are confirmed or failed, member by member).
      overlaySends: [...world.log.channelSends.values()].filter((s) => (s.result?.unconfirmed ?? 0) > 0).length,
      virtualMs: world.sched.now - t0,
      dropNotices: [...world.log.dropped.values()].reduce((n, m) => n + [...m.values()].reduce((a, b) => a + b, 0), 0),
      compactions: world.compactions + (await counter('plaza_channel_document_compactions_total')),
    },
    trace: world.log.trace,
  }
}
