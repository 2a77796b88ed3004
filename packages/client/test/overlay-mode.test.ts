import { describe, expect, it } from 'vitest'
import { MessageKind, OverlayFrameType, decodeOverlayFrame, encodeOverlayFrame, type MemberCert } from '@plaza/protocol'
import { OverlayMode, type OverlayHost, type OverlayKeyPair } from '../src/channels/channel-overlay.js'
import { generateOverlayKey } from '../src/overlay/index.js'
import { manualClock } from './manual-clock.js'

async function overlayMode() {
  const time = manualClock(Date.now())
  const node = { now: 1_000_000 }
    const keys: OverlayKeyPair = await generateOverlayKey()
    const asked = { candidates: 0 }
    const sent: Array<{ to: string; type: OverlayFrameType }> = []
    const host: OverlayHost = {
      app: 'app',
      uid: 'me',
      linkSend: (to, bytes) => {
        sent.push({ to, type: decodeOverlayFrame(bytes).type })
        return true
      },
      linkOpen: () => true,
      anyLinkOpen: () => true,
      linkConnect: () => undefined,
      holdLink: () => undefined,
      candidates: async () => {
        // No member to link to (they are all linked already, say). A runaway loop of requests stops here.
        if (++asked.candidates > 100) throw new Error('asked too often')
        return []
      },
      nodeNow: () => node.now,
    }
    let ids = 0
    const cert: MemberCert = { app: 'app', channel: 'room', uid: 'me', pubkey: keys.publicKey, expiry: Date.now() + 3_600_000, sig: new Uint8Array(64) }
    const mode = new OverlayMode({
      channel: 'room',
      host,
      rt: { clock: time.clock, random: Math.random, randomId: () => `id${++ids}` },
      threshold: 8,
      keys: () => keys,
      nodeKey: () => new Uint8Array(32),
      members: () => [],
      deliver: () => undefined,
      originAllowed: () => true,
      renewCert: () => undefined,
      goOutside: () => undefined,
    })
    return { mode, cert, asked, sent, ids: () => ids, fire: time.fire, node }
}

describe('a channel’s overlay mode', () => {
  it('goes on with one stream for this client across a leave and a join, and across the full mesh and back', async () => {
    const { mode, cert, ids, fire } = await overlayMode()
    const publish = (s: string) => mode.publish(MessageKind.TEXT, new TextEncoder().encode(s))
    mode.joined(cert, 10)
    expect(mode.active).toBe(true)
    expect([await publish('a'), await publish('b')]).toEqual([1, 2])
    // Left, and joined again: the same stream goes on (a member orders both sessions' messages as one).
    mode.stop()
    mode.joined(cert, 10)
    expect(await publish('c')).toBe(3)
    // Down to the full mesh: the overlay drains, then stops; above the threshold again, a new overlay, the same stream.
    mode.update(3)
    fire() // the count stayed low: back to the full mesh
    expect(mode.active).toBe(false)
    fire() // the drain is over
    mode.update(10)
    expect(mode.active).toBe(true)
    expect(await publish('d')).toBe(4)
    // One stream id was drawn.
    expect(ids()).toBe(1)
  })

  it('names its stream while the overlay drains (a message whose signing ended after the switch is named by the copies after it)', async () => {
    const { mode, cert, fire } = await overlayMode()
    mode.joined(cert, 10)
    expect(await mode.publish(MessageKind.TEXT, new TextEncoder().encode('a'))).toBe(1)
    mode.update(3)
    fire() // back to the full mesh: the first overlay drains
    expect(mode.active).toBe(false)
    expect(mode.ownStreamId).toBe('id1')
  })

  it('remembers overlay messages skipped for a copy that went first, in the overlay it runs later too', async () => {
    const { mode, cert } = await overlayMode()
    mode.joined(cert, 3) // below the threshold: no overlay runs
    expect(mode.passed('x', 's', 5)).toBe(null)
    mode.skipThrough('x', 's', 5)
    expect(mode.passed('x', 's', 5)).toBe(true)
    expect(mode.passed('x', 's', 6)).toBe(null)
    mode.update(10)
    expect(mode.active).toBe(true)
    expect(mode.passed('x', 's', 4)).toBe(true)
    // The overlay now waits for x's message 6, and takes no copy of 1–5.
    expect(mode.passed('x', 's', 6)).toBe(false)
  })

  it('takes members’ streams from where its last overlay stopped (not from the join): a stream’s first message after that starts it at once', async () => {
    const { mode, cert, fire, node } = await overlayMode()
    node.now = 1_000_000
    mode.joined(cert, 10)
    expect(mode.streamsFrom).toBe(1_000_000)
    node.now = 1_040_000
    mode.update(3)
    fire() // back to the full mesh: the overlay drains
    node.now = 1_070_000
    fire() // the drain is over
    expect(mode.streamsFrom).toBe(null)
    node.now = 1_120_000
    mode.update(10)
    expect(mode.streamsFrom).toBe(1_070_000)
    // Left and joined again: from the new join.
    mode.stop()
    node.now = 1_130_000
    mode.joined(cert, 10)
    expect(mode.streamsFrom).toBe(1_130_000)
  })

  it('gives the seq of a message stopped while it was being signed to the next one: no member waits for a message that never went', async () => {
    const { mode, cert } = await overlayMode()
    const publish = (s: string) => mode.publish(MessageKind.TEXT, new TextEncoder().encode(s))
    mode.joined(cert, 10)
    expect(await publish('a')).toBe(1)
    const b = publish('b') // still being signed (WebCrypto) when the overlay stops
    mode.stop()
    await expect(b).rejects.toThrow(/stopped/)
    mode.joined(cert, 10)
    expect(await publish('c')).toBe(2)
  })

  it('asks a member that joins at or below the threshold to link (it cannot tell that the overlay runs), and none above it', async () => {
    const { mode, cert, sent } = await overlayMode()
    mode.joined(cert, 10)
    mode.update(8) // at the threshold: the overlay runs on (hysteresis)
    mode.memberJoined('x')
    expect(sent).toContainEqual({ to: 'x', type: OverlayFrameType.NEIGHBOR })
    mode.update(10)
    mode.memberJoined('y')
    expect(sent.filter((f) => f.to === 'y')).toEqual([])
  })

  it('far below the threshold, asked to link by a member whose overlay runs: takes the overlay’s messages (drains) and sends its own as copies', async () => {
    const { mode, cert, sent } = await overlayMode()
    mode.joined(cert, 3)
    expect(mode.passed('x', 's', 1)).toBe(null)
    mode.onFrame('x', encodeOverlayFrame({ type: OverlayFrameType.NEIGHBOR, channel: 'room', urgent: false }))
    // An overlay runs here (it answered), draining: it publishes nothing.
    expect(sent).toContainEqual({ to: 'x', type: OverlayFrameType.NEIGHBOR_REPLY })
    expect(mode.active).toBe(false)
    expect(mode.publishes).toBe(false)
  })

  it('publishes only once it has a link: a message would otherwise reach nobody, and be lost if this member left first (it goes as copies)', async () => {
    const { mode, cert } = await overlayMode()
    mode.joined(cert, 10)
    expect(mode.active).toBe(true)
    expect(mode.links).toEqual([])
    expect(mode.publishes).toBe(false)
    mode.onFrame('x', encodeOverlayFrame({ type: OverlayFrameType.NEIGHBOR, channel: 'room', urgent: false }))
    expect(mode.links).toEqual(['x'])
    expect(mode.publishes).toBe(true)
    // Far below the threshold (most members left): copies at once, though the overlay runs on for a while.
    mode.update(3)
    expect(mode.active).toBe(true)
    expect(mode.publishes).toBe(false)
  })

  it('asks an origin for the overlay message a copy waits for only at or below the threshold (above it the node’s fan-out names it to every member at once)', async () => {
    const { mode, cert, sent } = await overlayMode()
    mode.joined(cert, 10)
    mode.askOrigin('x', 's', 3)
    expect(sent.filter((f) => f.type === OverlayFrameType.PULL)).toEqual([])
    mode.update(7)
    mode.askOrigin('x', 's', 3)
    expect(sent.filter((f) => f.type === OverlayFrameType.PULL)).toEqual([{ to: 'x', type: OverlayFrameType.PULL }])
  })

  it('asks one neighbour too for the overlay message a copy waits for (the origin may be out of reach of a direct link)', async () => {
    const { mode, cert, sent } = await overlayMode()
    mode.joined(cert, 7)
    mode.onFrame('y', encodeOverlayFrame({ type: OverlayFrameType.NEIGHBOR, channel: 'room', urgent: false }))
    mode.askOrigin('x', 's', 3)
    expect(sent.filter((f) => f.type === OverlayFrameType.PULL)).toEqual([
      { to: 'x', type: OverlayFrameType.PULL },
      { to: 'y', type: OverlayFrameType.PULL },
    ])
  })

  it('asks the node for candidates one at a time and twice a second at most, whatever it answers', async () => {
    const { mode, cert, asked } = await overlayMode()
    mode.joined(cert, 10)
    for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r))
    // The node answered at once with nobody to link to: not asked again until 500 ms have passed.
    expect(asked.candidates).toBe(1)
  })
})
