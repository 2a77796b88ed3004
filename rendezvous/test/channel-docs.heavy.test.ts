import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as sync from 'y-protocols/sync'
import { MemoryLevel } from 'memory-level'
import { AttributeOp, ErrorCode, PlazaError } from '@plaza/protocol'
import { ChannelDocs } from '../src/channels/channel-docs.js'
import { LevelDocStore } from '../src/store/doc-store.js'
import { systemNodeRuntime } from '../src/runtime.js'
import type { Database } from '../src/store/database.js'

const updateMessage = (u: Uint8Array) => {
  const e = encoding.createEncoder()
  sync.writeUpdate(e, u)
  return encoding.toUint8Array(e)
}
const bodyOf = (payload: Uint8Array) => {
  const d = decoding.createDecoder(payload)
  decoding.readVarUint(d)
  return decoding.readVarUint8Array(d)
}
const attrs = (doc: Y.Doc) => JSON.stringify(Object.entries(doc.getMap('attributes').toJSON()).sort())

async function open() {
  const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' }) as unknown as Database
  await db.open()
  return new ChannelDocs(new LevelDocStore(db), systemNodeRuntime, (err) => {
    throw err
  })
}

/** A replica that follows what the node tells members: updates, and whole new generations. */
class Follower {
  doc = new Y.Doc()
  epoch = 0
  take(change: { update: Uint8Array | null; epoch: number; fresh: { epoch: number; payload: Uint8Array } | null }): void {
    if (change.fresh) {
      this.doc = new Y.Doc()
      this.epoch = change.fresh.epoch
      Y.applyUpdate(this.doc, bodyOf(change.fresh.payload))
    } else if (change.update) Y.applyUpdate(this.doc, bodyOf(change.update))
  }
}

describe('ChannelDocs under many writers', () => {
  it('100 000 writes by 10 000 distinct writers leave a small state, and replicas that follow converge', async () => {
    const docs = await open()
    const followers = [new Follower(), new Follower(), new Follower()]
    const last = new Map<string, string>()
    let { epoch, state } = await fullState(docs)
    let base = state
    let stale = 0
    /** A fresh page: a new Yjs client on the node's current state. */
    const freshWriter = () => {
      const doc = new Y.Doc()
      Y.applyUpdate(doc, base)
      return { doc, epoch }
    }
    for (let writer = 0; writer < 10_000; writer++) {
      let w = freshWriter()
      for (let i = 0; i < 10; ) {
        const key = `k${(writer * 10 + i) % 8}`
        const value = `${writer}.${i}`
        if (i === 9 && writer % 100 === 0) {
          // Now and then a non-member writes through the node instead.
          const change = await docs.write('app', 'room', `w${writer}`, AttributeOp.ADD_OR_UPDATE, { [key]: value }, [])
          if (change) for (const f of followers) f.take(change)
          last.set(key, value)
          i++
          continue
        }
        let update: Uint8Array | null = null
        const capture = (u: Uint8Array) => (update = u)
        w.doc.on('update', capture)
        w.doc.getMap('attributes').set(key, { value, lastUpdateUserId: `w${writer}`, lastUpdateTs: writer })
        w.doc.off('update', capture)
        try {
          const { change } = await docs.onSync('app', 'room', w.epoch, updateMessage(update!))
          if (change) for (const f of followers) f.take(change)
          last.set(key, value)
          i++
        } catch (err) {
          // Compacted (a new generation) since this writer synced: it syncs again and writes again.
          expect((err as PlazaError).code).toBe(ErrorCode.STALE_EPOCH)
          stale++
          ;({ epoch, state } = await fullState(docs))
          base = state
          w = freshWriter()
        }
      }
      ;({ epoch, state } = await fullState(docs))
      base = state
    }
    const bytes = await docs.stateBytes('app', 'room')
    const nodeAttrs = Object.fromEntries((await docs.read('app', 'room', [])).map((a) => [a.key, a.value]))
    console.log(`100 000 writes by 10 000 writers: state ${bytes} bytes, ${stale} writes made again on a new generation`)
    expect(bytes).toBeLessThan(8 * 1024)
    expect(nodeAttrs).toEqual(Object.fromEntries(last))
    for (const f of followers) {
      expect(f.epoch === 0 || f.epoch === epoch).toBe(true)
      expect(attrs(f.doc)).toBe(attrs(stateDoc(state)))
    }
  }, 300_000)
})

async function fullState(docs: ChannelDocs): Promise<{ epoch: number; state: Uint8Array }> {
  const e = encoding.createEncoder()
  sync.writeSyncStep1(e, new Y.Doc())
  const { reply } = await docs.onSync('app', 'room', 0, encoding.toUint8Array(e))
  return { epoch: reply!.epoch, state: bodyOf(reply!.payload) }
}

function stateDoc(state: Uint8Array): Y.Doc {
  const d = new Y.Doc()
  Y.applyUpdate(d, state)
  return d
}
