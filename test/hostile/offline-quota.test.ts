import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PeerMessageState } from '@plaza/client'
import { closeClients, loggedIn } from '../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { bystanders, metric } from './util.js'

// One session stores 30 KB messages for 2000 distinct receivers that never log in. The only
// bound used to be 200 per receiver: ~16 MB/s for 7 days. Now a sender holds at most its quota
// (default 5000 messages / 32 MiB; 8 MiB here, so that the 60 MB offered is far above what the
// store may keep, whatever LevelDB's own overhead: its log and not yet compacted tables) for all
// its offline receivers together.
const QUOTA_MIB = 8
const dirMb = (dir: string) => Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]) / 1024

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous({ args: ['--offline-quota-sender', `5000/${QUOTA_MIB * 2 ** 20}`] })
})
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

describe('offline messages to many receivers', () => {
  it('stop at the sender’s quota with OFFLINE_QUOTA_EXCEEDED; disk bounded; others still store', async () => {
    const pair = await bystanders(node)
    const spammer = await loggedIn(node, 'spammer', { directLinks: false })
    const diskBefore = dirMb(node.dataDir)
    // Incompressible, as real content would be for the store's compression.
    const body = randomBytes(22_500).toString('base64')
    // In bursts of 200 (the client holds at most 16 MiB of messages under way), a burst at most
    // every 450 ms: the quota is what this test is about, not the message rate (1500 per 3 s, a
    // bucket refilled at 500/s), which 2000 sends in a second and a half would pass.
    const outcomes: { state: string }[] = []
    const started = Date.now()
    for (let b = 0; b < 2000; b += 200) {
      const due = started + (b / 200) * 450 - Date.now()
      if (due > 0) await new Promise((resolve) => setTimeout(resolve, due))
      outcomes.push(
        ...(await Promise.all(Array.from({ length: 200 }, (_, i) => spammer.sendMessageToPeer({ text: body }, `absent-${b + i}`, { enableOfflineMessaging: true })))),
      )
    }
    const tally: Record<string, number> = {}
    for (const o of outcomes) tally[o.state] = (tally[o.state] ?? 0) + 1
    const diskAfter = dirMb(node.dataDir)
    // Someone else can still leave a message for an offline user.
    const other = await loggedIn(node, 'polite', { directLinks: false })
    const polite = await other.sendMessageToPeer({ text: 'see you tomorrow' }, 'absent-0', { enableOfflineMessaging: true })
    const result = await pair.stop()
    console.log(
      `2000 offline messages of 30 KB to 2000 receivers: ${JSON.stringify(tally)}; data dir ${diskBefore.toFixed(1)} → ${diskAfter.toFixed(1)} MB; ` +
        `refusals metric ${await metric(node, 'plaza_offline_quota_refusals_total')}; another sender: ${polite.state}; bystanders ${result.received}/${result.sent}`,
    )
    // 8 MiB of 30 KB bodies (and their headers): 279 stored at most, the rest refused.
    const most = Math.floor((QUOTA_MIB * 2 ** 20) / 30_000)
    expect(tally[PeerMessageState.CACHED_BY_SERVER]).toBeGreaterThan(most - 10)
    expect(tally[PeerMessageState.CACHED_BY_SERVER]).toBeLessThanOrEqual(most)
    expect(tally[PeerMessageState.OFFLINE_QUOTA_EXCEEDED]).toBe(2000 - tally[PeerMessageState.CACHED_BY_SERVER])
    // Unbounded, the store would hold 60 MB.
    expect(diskAfter - diskBefore).toBeLessThan(QUOTA_MIB * 2 + 8)
    expect(polite.state).toBe(PeerMessageState.CACHED_BY_SERVER)
    expect(result.sent).toBeGreaterThanOrEqual(20)
    expect(result).toMatchObject({ received: result.sent, delivered: result.sent, inOrder: true })
  })
})
