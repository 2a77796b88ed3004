import { describe, expect, it } from 'vitest'
import { ErrorCode } from '@plaza/protocol'
import type { OfflineStore, OfflineStoreOptions } from '../src/store/offline-store.js'

/** One offline store over its backing data. */
export interface OfflineFixture {
  store: OfflineStore
  /** What an app (or one sender in it) holds. */
  usage(appId: string, from?: string): Promise<{ messages: number; bytes: number }>
  /** Keys left in the backing store. */
  leftovers(): Promise<string[]>
  /** Closes this store and opens another over the same data. */
  reopen(): Promise<OfflineFixture>
  close(): Promise<void>
}

const payload = (n: number) => new TextEncoder().encode(`m${n}`)
const text = (p: Uint8Array) => new TextDecoder().decode(p)
/** Message `n` of `from`'s stream `s.<from>` to `uid`. */
const put = (uid: string, from: string, n: number, serverTs = Date.now()) => ({
  appId: 'app',
  uid,
  from,
  serverTs,
  stream: `s.${from}`,
  seq: n + 1,
  payload: payload(n),
})

/** The OfflineStore's rules, one suite for every store. */
export function offlineStoreContract(name: string, open: (opts?: OfflineStoreOptions) => Promise<OfflineFixture>): void {
  describe(`the offline store: ${name}`, () => {
    it('lists a receiver’s messages oldest first, apart from other receivers and apps', async () => {
      const { store, close } = await open()
      await Promise.all([0, 1, 2].map((i) => store.put(put('carol', 'alice', i))))
      await store.put(put('dave', 'alice', 9))
      await store.put({ ...put('carol', 'alice', 8), appId: 'app2' })
      const { messages, dropped } = await store.list('app', 'carol', 200)
      expect(messages.map((m) => text(m.payload))).toEqual(['m0', 'm1', 'm2'])
      expect(messages.every((m) => m.from === 'alice')).toBe(true)
      expect(dropped).toEqual([])
      await close()
    })

    it('keeps at most perReceiver messages, dropping the oldest first, and records what it dropped per stream', async () => {
      const { store, close } = await open({ perReceiver: 5, retentionMs: 86400_000 })
      for (let i = 0; i < 8; i++) await store.put(put('carol', 'alice', i))
      // and in one group-committed batch, which drops some of its own
      await Promise.all([8, 9, 10, 11, 12, 13, 14].map((i) => store.put(put('carol', i % 2 ? 'bob' : 'alice', i))))
      const { messages, dropped } = await store.list('app', 'carol', 200)
      expect(messages.map((m) => text(m.payload))).toEqual(['m10', 'm11', 'm12', 'm13', 'm14'])
      expect(dropped).toEqual([
        { from: 'alice', stream: 's.alice', ranges: [[1, 9]], count: 9 },
        { from: 'bob', stream: 's.bob', ranges: [[10, 10]], count: 1 },
      ])
      await close()
    })

    it('forgets drop records once the receiver was told, unless more were dropped since', async () => {
      const { store, close } = await open({ perReceiver: 2, retentionMs: 86400_000 })
      for (let i = 0; i < 4; i++) await store.put(put('carol', 'alice', i))
      const first = await store.list('app', 'carol', 200)
      await store.put(put('carol', 'alice', 4)) // drops one more after the listing
      await store.remove('app', 'carol', [], first.dropped)
      expect((await store.list('app', 'carol', 200)).dropped).toEqual([{ from: 'alice', stream: 's.alice', ranges: [[1, 3]], count: 3 }])
      const second = await store.list('app', 'carol', 200)
      await store.remove('app', 'carol', second.messages.map((m) => m.id), second.dropped)
      expect(await store.list('app', 'carol', 200)).toEqual({ messages: [], dropped: [] })
      await close()
    })

    it('records seqs to skip (answered PEER_OFFLINE) in the drop record without counting them, merged with drops, and forgets them once told', async () => {
      const { store, close } = await open({ perReceiver: 4, retentionMs: 86400_000 })
      // Seqs 1 and 3 were plain messages the node answered PEER_OFFLINE; 2 and 4 are stored.
      await store.put({ ...put('carol', 'alice', 1), skipped: [[1, 1]] })
      await store.put({ ...put('carol', 'alice', 3), skipped: [[3, 3]] })
      const first = await store.list('app', 'carol', 200)
      expect(first.messages.map((m) => text(m.payload))).toEqual(['m1', 'm3'])
      expect(first.dropped).toEqual([{ from: 'alice', stream: 's.alice', ranges: [[1, 1], [3, 3]], count: 0 }])
      // Another skip after the listing: the record told stays (changed since).
      await store.put({ ...put('carol', 'alice', 5), skipped: [[5, 5]] })
      await store.remove('app', 'carol', [], first.dropped)
      expect((await store.list('app', 'carol', 200)).dropped).toEqual([{ from: 'alice', stream: 's.alice', ranges: [[1, 1], [3, 3], [5, 5]], count: 0 }])
      // The cap's drops join the same record (seq 2 goes).
      await store.put(put('carol', 'alice', 6))
      await store.put(put('carol', 'alice', 7))
      const second = await store.list('app', 'carol', 200)
      expect(second.messages.map((m) => text(m.payload))).toEqual(['m3', 'm5', 'm6', 'm7'])
      expect(second.dropped).toEqual([{ from: 'alice', stream: 's.alice', ranges: [[1, 3], [5, 5]], count: 1 }])
      await store.remove('app', 'carol', second.messages.map((m) => m.id), second.dropped)
      expect(await store.list('app', 'carol', 200)).toEqual({ messages: [], dropped: [] })
      await close()
    })

    it('leaves out, deletes and records as dropped the messages older than the retention', async () => {
      const { store, close } = await open({ perReceiver: 200, retentionMs: 60_000 })
      await store.put(put('carol', 'alice', 0, Date.now() - 120_000))
      await store.put(put('carol', 'alice', 1))
      const { messages, dropped } = await store.list('app', 'carol', 200)
      expect(messages.map((m) => text(m.payload))).toEqual(['m1'])
      expect(dropped).toEqual([{ from: 'alice', stream: 's.alice', ranges: [[1, 1]], count: 1 }])
      await store.put(put('erin', 'alice', 2, Date.now() - 120_000))
      expect(await store.sweepExpired()).toBe(1)
      expect((await store.list('app', 'erin', 200)).dropped).toEqual([{ from: 'alice', stream: 's.alice', ranges: [[3, 3]], count: 1 }])
      await close()
    })

    it('keeps a (sender stream, seq) once: relayed again, in the same batch or later, it is not stored twice', async () => {
      // A sender reloaded before it saved that its messages were stored relays them all again;
      // stored twice, they would push the receiver's other messages out of the cap.
      const { store, close, leftovers } = await open({ perReceiver: 5, retentionMs: 86400_000 })
      await Promise.all([0, 1, 2, 2].map((i) => store.put(put('carol', 'alice', i))))
      await Promise.all([0, 1, 2].map((i) => store.put(put('carol', 'alice', i))))
      await store.put(put('carol', 'bob', 0))
      expect((await store.list('app', 'carol', 200)).messages.map((m) => text(m.payload))).toEqual(['m0', 'm1', 'm2', 'm0'])
      // Past the cap: what was dropped is not stored again either (the receiver is told of it).
      for (let i = 3; i < 6; i++) await store.put(put('carol', 'alice', i))
      await store.put(put('carol', 'alice', 0))
      const { messages, dropped } = await store.list('app', 'carol', 200)
      expect(messages.map((m) => `${m.from}:${text(m.payload)}`)).toEqual(['alice:m2', 'bob:m0', 'alice:m3', 'alice:m4', 'alice:m5'])
      expect(dropped).toEqual([{ from: 'alice', stream: 's.alice', ranges: [[1, 2]], count: 2 }])
      // Once delivered and removed, nothing of it is left behind.
      await store.remove('app', 'carol', messages.map((m) => m.id), dropped)
      expect(await store.list('app', 'carol', 200)).toEqual({ messages: [], dropped: [] })
      expect(await leftovers()).toEqual([])
      await close()
    })

    it('tells when every write for a receiver under way is done', async () => {
      const { store, close } = await open()
      let written = 0
      const puts = [0, 1, 2].map((i) => store.put(put('carol', 'alice', i)).then(() => written++))
      await store.settled('app', 'carol')
      expect(written).toBe(3)
      await Promise.all(puts)
      await store.settled('app', 'nobody')
      await close()
    })

    it('removes acknowledged messages, and keeps ids growing across a reopen', async () => {
      const fx = await open()
      const store = fx.store
      await store.put(put('carol', 'alice', 0))
      await store.put(put('carol', 'alice', 1))
      const [first, second] = (await store.list('app', 'carol', 200)).messages
      await store.remove('app', 'carol', [first.id], [])
      const again = await fx.reopen()
      await again.store.put(put('carol', 'alice', 2))
      const list = (await again.store.list('app', 'carol', 200)).messages
      expect(list.map((m) => text(m.payload))).toEqual(['m1', 'm2'])
      expect(list[0].id).toBe(second.id)
      expect(list[1].id).toBeGreaterThan(second.id)
      await again.close()
    })
  })

  describe(`offline store quotas: ${name}`, () => {
    const quotas = { perReceiver: 3, retentionMs: 86400_000, perSender: { messages: 4, bytes: 1000 }, perApp: { messages: 6, bytes: 10_000 } }
    const refused = (p: Promise<void>) => p.then(() => 'stored', (e: { code: ErrorCode }) => ErrorCode[e.code])

    it('refuse a sender past its messages, count back what leaves, and are rebuilt from disk', async () => {
      const fx = await open(quotas)
      const { store, usage } = fx
      // Four to four different receivers (the per-receiver cap never bites), then the fifth is refused.
      const outcomes = await Promise.all(['r1', 'r2', 'r3', 'r4', 'r5'].map((r, i) => refused(store.put(put(r, 'spammer', i)))))
      expect(outcomes).toEqual(['stored', 'stored', 'stored', 'stored', 'QUOTA_EXCEEDED'])
      expect((await store.list('app', 'r5', 10)).messages).toEqual([])
      // Another sender is not held to the spammer's quota; the app's (6) is shared.
      expect(await refused(store.put(put('r1', 'alice', 0)))).toBe('stored')
      expect(await refused(store.put(put('r2', 'alice', 1)))).toBe('stored')
      expect(await refused(store.put(put('r3', 'alice', 2)))).toBe('QUOTA_EXCEEDED')
      expect(await usage('app')).toMatchObject({ messages: 6 })
      // r1 logs in and acknowledges: its messages leave, and count no more.
      const { messages } = await store.list('app', 'r1', 10)
      await store.remove('app', 'r1', messages.map((m) => m.id), [])
      expect((await usage('app', 'spammer')).messages).toBe(3)
      expect(await refused(store.put(put('r6', 'spammer', 6)))).toBe('stored')
      const again = await fx.reopen()
      expect((await again.usage('app', 'spammer')).messages).toBe(4)
      expect(await again.usage('app')).toMatchObject({ messages: 5 })
      expect(await refused(again.store.put(put('r7', 'spammer', 7)))).toBe('QUOTA_EXCEEDED')
      await again.close()
    })

    it('count bytes; a copy kept once and a message the cap drops count no more; REST is held only to the app quota', async () => {
      const { store, close, usage } = await open(quotas)
      const big = { ...put('r1', 'bob', 0), payload: new Uint8Array(600) }
      expect(await refused(store.put(big))).toBe('stored')
      expect(await refused(store.put({ ...put('r2', 'bob', 1), payload: new Uint8Array(600) }))).toBe('QUOTA_EXCEEDED')
      // The same (stream, seq) again is stored already: not refused, not written a second time, nor counted.
      expect(await refused(store.put(big))).toBe('stored')
      expect(await usage('app', 'bob')).toEqual({ messages: 1, bytes: 600 })
      // Three more to r1 push bob's big one out of r1's cap (3): dropped, so no longer counted.
      for (let i = 1; i <= 3; i++) await store.put(put('r1', 'carol', i))
      expect(await usage('app', 'bob')).toEqual({ messages: 0, bytes: 0 })
      expect(await refused(store.put({ ...put('r3', 'server', 9), payload: new Uint8Array(900), senderExempt: true }))).toBe('stored')
      expect(await refused(store.put({ ...put('r3', 'server', 10), payload: new Uint8Array(900), senderExempt: true }))).toBe('stored')
      expect((await usage('app')).messages).toBe(5)
      await close()
    })
  })
}
