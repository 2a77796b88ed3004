/**
 * A client process that stands still (SIGSTOP: a laptop lid, a debugger, a frozen tab) longer
 * than the liveness window of its connection, then runs again. Found by an outside attack: on
 * waking, its keepalive check ran before it read what the node had sent meanwhile, took the
 * connection for dead and reconnected, and what sat in the old socket was lost — the sender's
 * whole window timed out. Now a check that comes late waits for the next one.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { PeerMessageState } from '@plaza/client'
import { Agent } from '../helpers/agents.js'
import { closeClients, loggedIn } from '../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'

let node: RendezvousProcess
let receiver: Agent | null = null
afterAll(async () => {
  if (receiver) {
    receiver.proc.kill('SIGCONT')
    await receiver.kill()
  }
  await closeClients()
  await stopRendezvous(node)
})

describe('a client process suspended past its liveness window', () => {
  it('keeps its connection when it runs again, and gets every message sent meanwhile', async () => {
    node = await startRendezvous()
    receiver = await Agent.start(node, 'sus-b', { options: { directLinks: false } })
    const sender = await loggedIn(node, 'sus-a', { directLinks: false, messageTimeoutMs: 30_000 })
    expect((await sender.sendMessageToPeer({ text: 'before' }, 'sus-b')).state).toBe(PeerMessageState.RECEIVED_BY_PEER)
    receiver.proc.kill('SIGSTOP')
    // Its client would call the connection dead after 3 pings (6 s) of silence: stopped for 9 s.
    const sends = Array.from({ length: 100 }, (_, i) => sender.sendMessageToPeer({ text: `m${i}` }, 'sus-b'))
    await new Promise((r) => setTimeout(r, 9000)) // the fault itself: how long the process stands still
    receiver.proc.kill('SIGCONT')
    const results = await Promise.all(sends)
    expect(results.filter((r) => r.state !== PeerMessageState.RECEIVED_BY_PEER)).toEqual([])
    await receiver.until((ev) => ev.filter((e) => e.event === 'peerMessage').length >= 101, 20_000, 'all messages')
    const texts = receiver.events.filter((e) => e.event === 'peerMessage').map((e) => e.text)
    expect(texts).toEqual(['before', ...Array.from({ length: 100 }, (_, i) => `m${i}`)])
    // It never went through a reconnect.
    expect(receiver.events.filter((e) => e.event === 'state').map((e) => e.state)).not.toContain('RECONNECTING')
  }, 60_000)
})
