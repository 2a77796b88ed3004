import { describe, expect, it } from 'vitest'
import { FrameType, MessageKind, PeerFrameType, encodePeerFrame, type OfflineDrop, type OfflineMessagesFrame } from '@plaza/protocol'
import { PeerDelivery } from '../src/delivery/peer-delivery.js'
import { directHost } from './delivery-host.js'
import { MemoryStorage } from '../src/storage/storage.js'
import { manualClock } from './manual-clock.js'

const message = (seq: number, floor: number) =>
  encodePeerFrame({ type: PeerFrameType.MESSAGE, stream: 's1', channel: '', seq, floor, sentTs: 0, kind: MessageKind.TEXT, text: `m${seq}`, bytes: new Uint8Array(0), description: '' })

function receiver() {
  const { clock } = manualClock(1_000)
  const told: [string, number][] = []
  const delivered: string[] = []
  const host = directHost({
    deliver: (_from, f) => (delivered.push(f.text), true),
    offlineDropped: (from, count) => void told.push([from, count]),
  })
  const d = new PeerDelivery(host, new MemoryStorage(), { clock, random: Math.random, randomId: () => 'rid', defer: (fn) => fn() }, { messageTimeoutMs: 10_000 })
  let id = 0
  const batch = (seqs: number[], dropped: OfflineDrop[]): OfflineMessagesFrame => ({
    type: FrameType.OFFLINE_MESSAGES,
    messages: seqs.map((seq) => ({ id: ++id, from: 'a', serverTs: 1, payload: message(seq, 1) })),
    dropped,
  })
  return { d, told, delivered, batch }
}

describe('drop notices from the node’s store', () => {
  it('are told to the app once: a notice sent again after a reconnect (its first copy came) is not news', () => {
    const r = receiver()
    const notice: OfflineDrop = { from: 'a', stream: 's1', ranges: [[1, 5]], count: 5 }
    r.d.onOffline(r.batch([6, 7], [notice]))
    expect(r.told).toEqual([['a', 5]])
    expect(r.delivered).toEqual(['m6', 'm7'])
    // The acknowledgement was lost with the old socket: after the resume the node sends it all again.
    r.d.onOffline(r.batch([6, 7], [notice]))
    expect(r.told).toEqual([['a', 5]])
    expect(r.delivered).toEqual(['m6', 'm7'])
  })

  it('a notice that differs from the last one told (the record grew, or a new one) is told', () => {
    const r = receiver()
    r.d.onOffline(r.batch([], [{ from: 'a', stream: 's1', ranges: [[1, 5]], count: 5 }]))
    r.d.onOffline(r.batch([9], [{ from: 'a', stream: 's1', ranges: [[1, 8]], count: 8 }]))
    r.d.onOffline(r.batch([], [{ from: 'b', stream: 's1', ranges: [[1, 5]], count: 5 }]))
    expect(r.told).toEqual([
      ['a', 5],
      ['a', 8],
      ['b', 5],
    ])
    expect(r.delivered).toEqual(['m9'])
  })
})
