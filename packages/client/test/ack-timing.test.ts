import { describe, expect, it } from 'vitest'
import { FrameType, MessageKind, PeerFrameType, decodePeerFrame, encodePeerFrame } from '@plaza/protocol'
import { PeerDelivery } from '../src/delivery/peer-delivery.js'
import { directHost } from './delivery-host.js'
import { MemoryStorage } from '../src/storage/storage.js'
import { manualClock } from './manual-clock.js'

const textFrame = (stream: string, seq: number, text: string) =>
  encodePeerFrame({ type: PeerFrameType.MESSAGE, stream, channel: '', seq, floor: 1, sentTs: 0, kind: MessageKind.TEXT, text, bytes: new Uint8Array(0), description: '' })

/** A receiver whose turns end only when the test says so; the ACKs it sends over the link, as sent. */
function receiver() {
  const { clock } = manualClock(1_000)
  const turnEnd: (() => void)[] = []
  const acks: { stream: string; upTo: number }[] = []
  const host = directHost({
    linkSend: (_uid, bytes) => {
      const f = decodePeerFrame(bytes)
      if (f.type === PeerFrameType.ACK) acks.push({ stream: f.stream, upTo: f.upTo })
      return true
    },
  })
  const d = new PeerDelivery(host, new MemoryStorage(), { clock, random: Math.random, randomId: () => 'rid', defer: (fn) => void turnEnd.push(fn) }, { messageTimeoutMs: 10_000 })
  let seq = 0
  return {
    acks,
    /** Messages from `a` in one turn, then the turn's end. */
    turn(n: number, endTurn = true) {
      for (let i = 0; i < n; i++) d.onPeerBytes('a', textFrame('s1', ++seq, `m${seq}`), { path: 'direct', serverTs: 0 })
      if (endTurn) for (const fn of turnEnd.splice(0)) fn()
    },
    endTurn: () => turnEnd.splice(0).forEach((fn) => fn()),
  }
}

describe('acknowledgements of messages over a direct link', () => {
  it('a lone message (after a turn of at most one) is acknowledged at once, not at the turn’s end', () => {
    const r = receiver()
    r.turn(1, false)
    expect(r.acks).toEqual([{ stream: 's1', upTo: 1 }])
    r.endTurn()
    expect(r.acks.length).toBe(1) // nothing more at the end
    r.turn(1, false)
    expect(r.acks).toEqual([{ stream: 's1', upTo: 1 }, { stream: 's1', upTo: 2 }])
  })

  it('a burst in one turn is acknowledged once at its end, and so is the first message of the turn after a burst', () => {
    const r = receiver()
    r.turn(1) // a lone message first: its ACK at once
    r.acks.length = 0
    r.turn(1, false) // the first of a burst: at once (the turn before held one)
    r.turn(4, false)
    expect(r.acks).toEqual([{ stream: 's1', upTo: 2 }])
    r.endTurn()
    expect(r.acks).toEqual([{ stream: 's1', upTo: 2 }, { stream: 's1', upTo: 6 }])
    r.acks.length = 0
    // After a turn of five, a busy stream: the next turn waits for its end, one ACK for all.
    r.turn(3, false)
    expect(r.acks).toEqual([])
    r.endTurn()
    expect(r.acks).toEqual([{ stream: 's1', upTo: 9 }])
  })
})

describe('the path of an acknowledgement', () => {
  it('acknowledges a stream whose last message came through the relay through the relay, though a link to its sender looks open (the sender may have been killed and started again)', () => {
    const { clock } = manualClock(1_000)
    const sent: string[] = []
    const host = directHost({
      linkOpen: () => true,
      linkSend: (_uid, bytes) => (decodePeerFrame(bytes).type === PeerFrameType.ACK && sent.push('link'), true),
      sendToNode: (f) => (f.type === FrameType.RELAY_TO && decodePeerFrame(f.payload).type === PeerFrameType.ACK && sent.push('node'), true),
    })
    const d = new PeerDelivery(host, new MemoryStorage(), { clock, random: Math.random, randomId: () => 'rid', defer: (fn) => fn() }, { messageTimeoutMs: 10_000 })
    d.onPeerBytes('a', textFrame('s1', 1, 'one'), { path: 'relay', serverTs: 0 })
    d.onPeerBytes('a', textFrame('s1', 2, 'two'), { path: 'direct', serverTs: 0 })
    d.onPeerBytes('a', textFrame('s1', 3, 'three'), { path: 'relay', serverTs: 0 })
    expect(sent).toEqual(['node', 'link', 'node'])
  })
})
