import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as sync from 'y-protocols/sync'
import {
  CHANNEL_ATTRIBUTES_MAP,
  ErrorCode,
  MAX_DOC_STATE_BYTES,
  PlazaError,
  checkAttributeTotals,
  readChannelAttributes,
  writeChannelAttributes,
  type AttributeEntry,
  type AttributeOp,
} from '@plaza/protocol'
import type { DocStore } from '../store/doc-store.js'

interface Replica {
  doc: Y.Doc
  saving: Promise<void> | null
  dirty: boolean
  lastActiveTs: number
  lastUsed: number
}

/** Replicas kept in memory besides those of live channels. */
const MAX_IDLE_REPLICAS = 1000
const SAVE_DELAY_MS = 20

/**
 * The node's replica of each channel's Yjs document: loaded from the store on first use,
 * changed by members' sync messages and by attribute verbs, persisted after each change.
 * Updates from members are checked on a scratch copy first: a peer cannot push the document
 * past the attribute limits or fill it with other data.
 */
export class ChannelDocs {
  private readonly replicas = new Map<string, Replica>()
  private readonly loading = new Map<string, Promise<Replica>>()

  constructor(
    private readonly store: DocStore,
    private readonly onError: (err: unknown) => void,
  ) {}

  private async replica(appId: string, channel: string): Promise<Replica> {
    const k = `${appId}\u0000${channel}`
    const ready = this.replicas.get(k)
    if (ready) {
      ready.lastUsed = Date.now()
      return ready
    }
    let pending = this.loading.get(k)
    if (!pending) {
      pending = (async () => {
        const stored = await this.store.load(appId, channel)
        const doc = new Y.Doc({ gc: true })
        if (stored) Y.applyUpdate(doc, stored.state)
        const r: Replica = { doc, saving: null, dirty: false, lastActiveTs: stored?.lastActiveTs ?? Date.now(), lastUsed: Date.now() }
        this.replicas.set(k, r)
        this.loading.delete(k)
        this.evictIdle()
        return r
      })()
      pending.catch(() => this.loading.delete(k))
      this.loading.set(k, pending)
    }
    return pending
  }

  /**
   * A member's y-protocols sync message. Returns the answer for that member (step 2 to its
   * step 1) and, for an accepted update, the update to pass on to the other members.
   */
  async onSync(appId: string, channel: string, payload: Uint8Array): Promise<{ reply: Uint8Array | null; update: Uint8Array | null }> {
    const r = await this.replica(appId, channel)
    let type: number
    let body: Uint8Array
    const decoder = decoding.createDecoder(payload)
    try {
      type = decoding.readVarUint(decoder)
      body = decoding.readVarUint8Array(decoder)
    } catch {
      throw new PlazaError(ErrorCode.MALFORMED_FRAME, 'not a y-protocols sync message')
    }
    if (type === sync.messageYjsSyncStep1) {
      const encoder = encoding.createEncoder()
      try {
        sync.writeSyncStep2(encoder, r.doc, body)
      } catch {
        throw new PlazaError(ErrorCode.MALFORMED_FRAME, 'bad state vector')
      }
      return { reply: encoding.toUint8Array(encoder), update: null }
    }
    if (type !== sync.messageYjsSyncStep2 && type !== sync.messageYjsUpdate) {
      throw new PlazaError(ErrorCode.MALFORMED_FRAME, `unknown sync message ${type}`)
    }
    this.check(r.doc, body)
    Y.applyUpdate(r.doc, body, 'member')
    this.changed(appId, channel, r)
    const encoder = encoding.createEncoder()
    sync.writeUpdate(encoder, body)
    return { reply: null, update: encoding.toUint8Array(encoder) }
  }

  /** A sync step 1 for a member that just joined (so it sends what the node lacks). */
  async syncStep1(appId: string, channel: string): Promise<Uint8Array> {
    const r = await this.replica(appId, channel)
    const encoder = encoding.createEncoder()
    sync.writeSyncStep1(encoder, r.doc)
    return encoding.toUint8Array(encoder)
  }

  /** An attribute verb from anyone (member or not). Durable before it resolves; returns the update message. */
  async write(
    appId: string,
    channel: string,
    uid: string,
    op: AttributeOp,
    attrs: Record<string, string>,
    keys: string[],
  ): Promise<Uint8Array | null> {
    const r = await this.replica(appId, channel)
    let update: Uint8Array | null = null
    const capture = (u: Uint8Array) => (update = u)
    r.doc.on('update', capture)
    try {
      r.doc.transact(() => writeChannelAttributes(r.doc.getMap(CHANNEL_ATTRIBUTES_MAP), op, attrs, keys, uid, Date.now()), 'node')
    } finally {
      r.doc.off('update', capture)
    }
    if (!update) return null
    this.changed(appId, channel, r)
    await this.flush(appId, channel)
    const encoder = encoding.createEncoder()
    sync.writeUpdate(encoder, update)
    return encoding.toUint8Array(encoder)
  }

  async read(appId: string, channel: string, keys: string[]): Promise<AttributeEntry[]> {
    const r = await this.replica(appId, channel)
    const all = readChannelAttributes(r.doc.getMap(CHANNEL_ATTRIBUTES_MAP))
    const wanted = keys.length ? keys.filter((k) => all.has(k)) : [...all.keys()]
    return wanted.map((key) => ({ key, ...all.get(key)! }))
  }

  /** The channel had a member now (retention counts from the last such moment). */
  async touch(appId: string, channel: string): Promise<void> {
    const r = await this.replica(appId, channel)
    r.lastActiveTs = Date.now()
    this.changed(appId, channel, r)
  }

  /** Persists now (waits for a save under way). */
  async flush(appId: string, channel: string): Promise<void> {
    const r = this.replicas.get(`${appId}\u0000${channel}`)
    if (!r) return
    while (r.saving) await r.saving
    if (r.dirty) await this.save(appId, channel, r)
  }

  async flushAll(): Promise<void> {
    await Promise.all(
      [...this.replicas.keys()].map((k) => {
        const [appId, channel] = k.split('\u0000')
        return this.flush(appId, channel)
      }),
    )
  }

  get size(): number {
    return this.replicas.size
  }

  private check(doc: Y.Doc, update: Uint8Array): void {
    const scratch = new Y.Doc({ gc: true })
    try {
      Y.applyUpdate(scratch, Y.encodeStateAsUpdate(doc))
      Y.applyUpdate(scratch, update)
    } catch {
      throw new PlazaError(ErrorCode.MALFORMED_FRAME, 'not a Yjs update')
    }
    if (Y.encodeStateAsUpdate(scratch).length > MAX_DOC_STATE_BYTES) {
      throw new PlazaError(ErrorCode.ATTRIBUTES_TOO_LARGE, `channel document over ${MAX_DOC_STATE_BYTES} bytes`)
    }
    for (const name of scratch.share.keys()) {
      if (name !== CHANNEL_ATTRIBUTES_MAP) throw new PlazaError(ErrorCode.INVALID_ARGUMENT, `unexpected shared type ${name}`)
    }
    const attrs = readChannelAttributes(scratch.getMap(CHANNEL_ATTRIBUTES_MAP))
    checkAttributeTotals('channel', new Map([...attrs].map(([k, a]) => [k, a.value])))
  }

  private changed(appId: string, channel: string, r: Replica): void {
    r.dirty = true
    r.lastUsed = Date.now()
    if (r.saving) return
    r.saving = new Promise<void>((resolve) => setTimeout(resolve, SAVE_DELAY_MS)).then(() => this.save(appId, channel, r))
  }

  private async save(appId: string, channel: string, r: Replica): Promise<void> {
    r.dirty = false
    try {
      await this.store.save(appId, channel, { state: Y.encodeStateAsUpdate(r.doc), lastActiveTs: r.lastActiveTs })
    } catch (err) {
      r.dirty = true
      this.onError(err)
    } finally {
      r.saving = null
    }
    if (r.dirty) this.changed(appId, channel, r)
  }

  private evictIdle(): void {
    if (this.replicas.size <= MAX_IDLE_REPLICAS) return
    const byAge = [...this.replicas].filter(([, r]) => !r.dirty && !r.saving).sort((a, b) => a[1].lastUsed - b[1].lastUsed)
    for (const [k, r] of byAge.slice(0, this.replicas.size - MAX_IDLE_REPLICAS)) {
      r.doc.destroy()
      this.replicas.delete(k)
    }
  }
}
