/**
 * How the delivery state is kept in storage: binary (lib0-style, bytes as bytes), a version
 * byte first. Unreadable or foreign data decodes to nothing rather than throwing.
 */
import { Decoder, Encoder, MAX_DESCRIPTION_BYTES, MAX_ID_BYTES, MAX_MESSAGE_BYTES, MAX_STREAM_ID_BYTES, MessageKind } from '@plaza/protocol'
import type { OutboxSnapshot } from './outbox.js'
import { MAX_SAVED_HELD, type StreamRecord } from './inbox.js'

const OUTBOX_VERSION = 4
/** Version 3 also kept whether a copy had left; it is not trusted any more (see PeerOutbox.restore). */
const OUTBOX_VERSION_3 = 3
/** 2: with each stream's held seqs (StreamRecord.held); version 1 is read as none held. */
const INBOX_VERSION = 2
/** Our own data, read back generously but never without a bound. */
const MAX_SAVED = 1 << 16

export type SavedOutbox = OutboxSnapshot & { peer: string }

export function encodeOutboxes(peers: SavedOutbox[]): Uint8Array {
  const e = new Encoder(256)
  e.uint8(OUTBOX_VERSION)
  e.varuint(peers.length)
  for (const p of peers) {
    e.string(p.peer)
    e.string(p.stream)
    e.varuint(p.nextSeq)
    e.varuint(p.items.length)
    for (const i of p.items) {
      e.varuint(i.seq)
      e.bool(i.offline)
      e.uint8(i.kind)
      if (i.kind === MessageKind.TEXT) e.string(i.text)
      else {
        e.bytes(i.bytes)
        e.string(i.description)
      }
    }
    e.varuint(p.stored.length)
    for (const seq of p.stored) e.varuint(seq)
  }
  return e.finish()
}

export function decodeOutboxes(bytes: Uint8Array): SavedOutbox[] {
  try {
    const d = new Decoder(bytes)
    const version = d.uint8()
    if (version !== OUTBOX_VERSION && version !== OUTBOX_VERSION_3) return []
    const out: SavedOutbox[] = []
    for (let n = d.count(MAX_SAVED); n > 0; n--) {
      const peer = d.string(MAX_ID_BYTES)
      const stream = d.string(MAX_STREAM_ID_BYTES)
      const nextSeq = d.varuint()
      const items: OutboxSnapshot['items'] = []
      for (let k = d.count(MAX_SAVED); k > 0; k--) {
        const seq = d.varuint()
        const offline = d.bool()
        if (version === OUTBOX_VERSION_3) d.bool()
        const kind = d.uint8() as MessageKind
        if (kind === MessageKind.TEXT) items.push({ seq, offline, kind, text: d.string(MAX_MESSAGE_BYTES), bytes: new Uint8Array(0), description: '' })
        else items.push({ seq, offline, kind, text: '', bytes: d.bytes(MAX_MESSAGE_BYTES).slice(), description: d.string(MAX_DESCRIPTION_BYTES) })
      }
      const stored: number[] = []
      for (let k = d.count(MAX_SAVED); k > 0; k--) stored.push(d.varuint())
      out.push({ peer, stream, nextSeq, items, stored })
    }
    return out
  } catch {
    return []
  }
}

export function encodeInbox(records: StreamRecord[]): Uint8Array {
  const e = new Encoder(64 + records.length * 48)
  e.uint8(INBOX_VERSION)
  e.varuint(records.length)
  for (const r of records) {
    e.string(r.from)
    e.string(r.stream)
    e.varuint(r.expected)
    e.varuint(r.known)
    e.varuint(r.lastActive)
    e.varuint(r.missing.length)
    for (const [a, b] of r.missing) {
      e.varuint(a)
      e.varuint(b)
    }
    e.varuint(r.held.length)
    for (const seq of r.held) e.varuint(seq)
  }
  return e.finish()
}

export function decodeInbox(bytes: Uint8Array): StreamRecord[] {
  try {
    const d = new Decoder(bytes)
    const version = d.uint8()
    if (version !== 1 && version !== INBOX_VERSION) return []
    const out: StreamRecord[] = []
    for (let n = d.count(MAX_SAVED); n > 0; n--) {
      const r: StreamRecord = { from: d.string(MAX_ID_BYTES), stream: d.string(MAX_STREAM_ID_BYTES), expected: d.varuint(), known: d.varuint(), lastActive: d.varuint(), missing: [], held: [] }
      for (let k = d.count(64); k > 0; k--) r.missing.push([d.varuint(), d.varuint()])
      if (version >= 2) for (let k = d.count(MAX_SAVED_HELD); k > 0; k--) r.held.push(d.varuint())
      out.push(r)
    }
    return out
  } catch {
    return []
  }
}
