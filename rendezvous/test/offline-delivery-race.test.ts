import { describe, expect, it } from 'vitest'
import { FrameType, decodeFrame, type OfflineDrop, type OfflineMessage } from '@plaza/protocol'
import type { Connection } from '../src/connection.js'
import type { NodeContext } from '../src/context.js'
import { NodeMetrics } from '../src/metrics.js'
import { RelayService } from '../src/relay.js'
import { Session, type SessionOwner } from '../src/session.js'
import type { OfflineListing } from '../src/store/offline-store.js'

/** An offline store whose listings the test hands out when it likes; removals take effect at once. */
function store() {
  let held: OfflineMessage[] = [1, 2, 3].map((id) => ({ id, from: 'a', serverTs: 1, payload: new Uint8Array([id]) }))
  let drops: OfflineDrop[] = [{ from: 'a', stream: 's1', ranges: [[1, 5]], count: 5 }]
  const waiting: (() => void)[] = []
  return {
    waiting,
    removed: [] as number[][],
    settled: async () => undefined,
    list(): Promise<OfflineListing> {
      // What the store holds when the listing starts, handed over later.
      const snapshot = { messages: [...held], dropped: [...drops] }
      return new Promise((resolve) => waiting.push(() => resolve(snapshot)))
    },
    async remove(_app: string, _uid: string, ids: number[], removedDrops: OfflineDrop[]) {
      this.removed.push(ids)
      held = held.filter((m) => !ids.includes(m.id))
      if (removedDrops.length) drops = []
    },
  }
}

const tick = () => new Promise((r) => setImmediate(r))

describe('stored messages handed to a session', () => {
  it('are listed again when an acknowledgement came while the store was read: nothing acknowledged goes twice, drops are counted once', async () => {
    const offline = store()
    const metrics = new NodeMetrics(() => ({ sessions: 0, mediaBytes: 0, channels: 0, connections: 0, subscriptions: 0, documents: 0, engineUp: true }), false)
    const ctx = {
      engine: { offline },
      config: { offlinePerReceiver: 200 },
      metrics,
      log: { warn: () => undefined, error: () => undefined },
      rt: { clock: { now: () => 1, setTimeout: () => 0 } },
      background: () => undefined,
    } as unknown as NodeContext
    const relay = new RelayService(ctx, { onNodeStreamAck: () => false, holdMedia: async () => true })
    const owner: SessionOwner = { limits: {} as SessionOwner['limits'], queueLimit: { frames: 100, bytes: 1 << 20 }, kick: () => undefined, disposed: () => undefined }
    const s = new Session('s1', 'app', 'b', 2e12, 1, owner)
    const sent: ReturnType<typeof decodeFrame>[] = []
    s.socket = { open: true, bufferedAmount: 0, remoteAddress: '', send: (f) => void sent.push(decodeFrame(f)), close: () => undefined, terminate: () => undefined } satisfies Connection

    // First hand-over: the three messages and the drop notice.
    const first = relay.deliverOffline(s)
    await tick()
    offline.waiting.shift()!()
    await first
    expect(sent).toMatchObject([{ type: FrameType.OFFLINE_MESSAGES, messages: [{ id: 1 }, { id: 2 }, { id: 3 }], dropped: [{ count: 5 }] }])

    // A newer message is stored (the node nudges the session), and while that listing is under
    // way the client acknowledges the first batch.
    const again = relay.deliverOffline(s)
    await tick()
    expect(offline.waiting.length).toBe(1)
    relay.onOfflineAck(s, [1, 2, 3])
    offline.waiting.shift()!() // a listing from before the acknowledgement
    for (let i = 0; i < 5 && offline.waiting.length === 0; i++) await tick()
    offline.waiting.shift()?.() // listed again, after the deletions
    await again

    expect(offline.removed).toEqual([[1, 2, 3]])
    expect(sent.length).toBe(1) // nothing went twice
    const dropped = await metrics.offlineDropped.get()
    expect(dropped.values[0]?.value).toBe(5)
  })
})
