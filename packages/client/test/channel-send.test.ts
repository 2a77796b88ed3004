import { describe, expect, it } from 'vitest'
import { MessageKind, type OverlayAfter } from '@plaza/protocol'
import { ChannelSender } from '../src/channels/channel-send.js'
import type { OverlayMode } from '../src/channels/channel-overlay.js'
import type { ChannelRoster } from '../src/channels/channel-roster.js'
import type { ChannelHost } from '../src/channels/channel-types.js'
import type { OutgoingBody } from '../src/delivery/outbox.js'
import type { SendResult } from '../src/delivery/outbox-types.js'
import { manualClock } from './manual-clock.js'

function setup() {
  const { clock, advance } = manualClock()
  const log: string[] = []
  const copies: Array<{ text: string; after: OverlayAfter | null | undefined; to: Record<string, OverlayAfter | null>; settle: () => void }> = []
  const overlay = { active: false, outsideCount: 0, ownStreamId: 'ov', seq: 0, signing: null as Promise<void> | null, unlinkedTaken: 0 }
  const fakeOverlay = {
    get publishes() {
      return overlay.active
    },
    get outsideCount() {
      return overlay.outsideCount
    },
    get ownStreamId() {
      return overlay.ownStreamId
    },
    takeUnlinked: () => {
      overlay.unlinkedTaken++
      return []
    },
    publish: async (_kind: MessageKind, body: Uint8Array) => {
      const seq = ++overlay.seq
      if (overlay.signing) await overlay.signing
      log.push(`overlay ${new TextDecoder().decode(body)}`)
      return seq
    },
  } as unknown as OverlayMode
  const host = {
    overlay: { takeMessageToken: () => undefined },
    sendChannelCopies: (members: string[], bodyFor: OutgoingBody | ((member: string) => OutgoingBody)) =>
      new Promise<{ member: string; result: SendResult }[]>((resolve) => {
        const bodies = members.map((m) => (typeof bodyFor === 'function' ? bodyFor(m) : bodyFor))
        const body = bodies[0]!
        log.push(`copies ${body.text}`)
        const to = Object.fromEntries(members.map((m, i) => [m, bodies[i]!.after ?? null]))
        copies.push({ text: body.text, after: body.after, to, settle: () => resolve(members.map((member) => ({ member, result: { state: 'RECEIVED_BY_PEER', hasPeerReceived: true } as unknown as SendResult }))) })
      }),
    broadcast: async () => undefined,
  } as unknown as ChannelHost
  const joinHeard = new Map<string, number>()
  const roster = { count: 3, exact: true, ids: new Set(['b', 'c']), joinHeardAt: (uid: string) => joinHeard.get(uid) } as unknown as { -readonly [K in keyof ChannelRoster]: ChannelRoster[K] }
  const sender = new ChannelSender('room', host, { clock, random: Math.random, randomId: () => 'r' }, fakeOverlay, roster as ChannelRoster)
  const send = (text: string) => sender.send({ channel: 'room', kind: MessageKind.TEXT, text, bytes: new Uint8Array(0), description: '' }, text.length)
  return { sender, send, overlay, copies, log, advance, joinHeard, clock, roster }
}

const tick = () => new Promise<void>((r) => setImmediate(r))

describe('a channel’s sending paths', () => {
  it('names its last overlay message on the copies it sends in the 30 s after it, and on none later', async () => {
    const { send, overlay, copies, advance } = setup()
    overlay.active = true
    await send('one')
    await send('two')
    overlay.active = false
    void send('three')
    advance(29_999)
    void send('four')
    advance(1)
    void send('five')
    await tick()
    expect(copies.map((c) => [c.text, c.after ?? null])).toEqual([
      ['three', { stream: 'ov', seq: 2 }],
      ['four', { stream: 'ov', seq: 2 }],
      ['five', null],
    ])
  })

  it('does not name its last overlay message to a member it heard join more than 2 s after it (that member never gets it)', async () => {
    const { send, overlay, copies, advance, joinHeard, clock } = setup()
    overlay.active = true
    await send('one')
    overlay.active = false
    joinHeard.set('b', clock.now() + 2000) // within the margin: it may have been in when 'one' went
    joinHeard.set('c', clock.now() + 2001)
    advance(3000)
    void send('two')
    await tick()
    expect(copies.map((c) => [c.text, c.to])).toEqual([['two', { b: { stream: 'ov', seq: 1 }, c: null }]])
  })

  it('after it left and joined again, names an overlay message from before it left only to those that were members when it left', async () => {
    const { sender, send, overlay, copies, advance, roster } = setup()
    overlay.active = true
    await send('one')
    overlay.active = false
    advance(500)
    sender.leaving() // leaves: b and c are members
    advance(10_000)
    // Joined again: b stayed (it may have missed 'one', and wait for it), d joined meanwhile (it never gets 'one').
    roster.ids = new Set(['b', 'd'])
    void send('two')
    await tick()
    expect(copies.map((c) => [c.text, c.to])).toEqual([['two', { b: { stream: 'ov', seq: 1 }, d: null }]])
  })

  it('sends its first overlay message only once the copies of the message before are settled', async () => {
    const { send, overlay, copies, log } = setup()
    void send('one')
    await tick()
    overlay.active = true
    const two = send('two')
    await tick()
    expect(log).toEqual(['copies one'])
    copies[0]!.settle()
    await two
    expect(log).toEqual(['copies one', 'overlay two'])
  })

  it('a copy sent while its overlay message before is still being signed (the channel went back to the full mesh meanwhile) names that message', async () => {
    const { send, overlay, copies, log } = setup()
    overlay.active = true
    await send('one')
    let signed!: () => void
    overlay.signing = new Promise<void>((r) => (signed = r))
    const two = send('two')
    overlay.active = false
    void send('three')
    await tick()
    expect(copies).toEqual([])
    signed()
    await two
    await tick()
    expect(log).toEqual(['overlay one', 'overlay two', 'copies three'])
    expect(copies.map((c) => [c.text, c.after ?? null])).toEqual([['three', { stream: 'ov', seq: 2 }]])
  })

  it('a message waiting for the copies before it is not overtaken by the next one, whichever way each goes; a leave waits for both', async () => {
    const { sender, send, overlay, copies, log } = setup()
    void send('one')
    await tick()
    overlay.active = true
    void send('two') // waits for one's copies (copiesFirst)
    overlay.active = false
    void send('three') // would go as a copy at once
    let flushed = false
    void sender.flushSends().then(() => (flushed = true))
    await tick()
    expect(log).toEqual(['copies one'])
    expect(flushed).toBe(false)
    copies[0]!.settle()
    await tick()
    await tick()
    // The channel went back to copies while two waited: it goes as a copy, then three.
    expect(log).toEqual(['copies one', 'copies two', 'copies three'])
    await tick()
    expect(flushed).toBe(true)
  })

  it('gives up pushing its overlay messages that reached nobody once it sends a copy (they would come after it)', async () => {
    const { send, overlay } = setup()
    overlay.active = true
    await send('one')
    expect(overlay.unlinkedTaken).toBe(0)
    overlay.active = false
    void send('two')
    await tick()
    expect(overlay.unlinkedTaken).toBe(1)
  })
})
