/**
 * The codec of the frames between a client and the rendezvous. This file encodes
 * (`encodeFrame`); frame-decode.ts decodes. Each frame: a varuint tag, then its fields
 * (frame-types.ts; PROTOCOL.md has the table).
 */
import { Encoder } from './binary.js'
import { PEER_ONLINE_STATES } from './states.js'
import { writeRanges } from './ranges.js'
import { writeEntries, writeIds, writeInvitationEvent, writePairs, writeStrings } from './frame-fields.js'
import { FrameType, type Frame } from './frame-types.js'
import { writeMemberCert } from './overlay-frames.js'

export * from './frame-types.js'

export function encodeFrame(f: Frame): Uint8Array {
  const e = new Encoder(
    f.type === FrameType.RELAY_TO || f.type === FrameType.RELAY_FROM
      ? f.payload.length + 96
      : f.type === FrameType.BATCH
        ? f.frames.reduce((n, b) => n + b.length + 5, 8)
        : f.type === FrameType.RELAYED
          ? 16 + f.reqIds.length * 3
          : 64,
  )
  e.varuint(f.type)
  switch (f.type) {
    case FrameType.LOGIN:
      e.varuint(f.version)
      e.string(f.appId)
      e.string(f.uid)
      e.string(f.token)
      e.string(f.resume)
      break
    case FrameType.LOGOUT:
      e.varuint(f.reqId)
      break
    case FrameType.PING:
      e.varuint(f.ts)
      break
    case FrameType.RENEW_TOKEN:
      e.varuint(f.reqId)
      e.string(f.token)
      break
    case FrameType.QUERY_PRESENCE:
    case FrameType.SUBSCRIBE_PRESENCE:
    case FrameType.UNSUBSCRIBE_PRESENCE:
      e.varuint(f.reqId)
      writeIds(e, f.uids)
      break
    case FrameType.SIGNAL_TO:
      e.string(f.to)
      e.string(f.data)
      break
    case FrameType.RELAY_TO:
      e.varuint(f.reqId)
      e.string(f.to)
      e.bool(f.offline)
      e.bytes(f.payload)
      break
    case FrameType.BATCH:
      e.varuint(f.frames.length)
      for (const frame of f.frames) e.bytes(frame)
      break
    case FrameType.RELAYED: {
      e.varuint(f.serverTs)
      e.varuint(f.reqIds.length)
      let prev = 0
      for (const id of f.reqIds) {
        e.varuint(id - prev)
        prev = id
      }
      break
    }
    case FrameType.OFFLINE_ACK:
      e.varuint(f.ids.length)
      for (const id of f.ids) e.varuint(id)
      break
    case FrameType.LOGIN_OK:
      e.string(f.sessionId)
      e.bool(f.resumed)
      e.varuint(f.serverTs)
      e.varuint(f.pingIntervalMs)
      e.varuint(f.tokenExpiresAt)
      e.bool(f.resync)
      // Protocol 4, trailing: only ever sent to sessions that logged in with version 4.
      if (f.nodeKey) {
        e.string(f.nodeKey.id)
        e.bytes(f.nodeKey.publicKey)
      }
      break
    case FrameType.LOGIN_FAILED:
    case FrameType.KICKED:
    case FrameType.ERROR:
      e.varuint(f.code)
      e.string(f.message)
      break
    case FrameType.PONG:
      e.varuint(f.ts)
      e.varuint(f.serverTs)
      break
    case FrameType.RESULT:
      e.varuint(f.reqId)
      e.varuint(f.code)
      e.string(f.message)
      break
    case FrameType.PRESENCE_STATES:
      e.varuint(f.reqId)
      e.varuint(f.states.length)
      for (const s of f.states) {
        e.string(s.uid)
        e.uint8(PEER_ONLINE_STATES.indexOf(s.state))
      }
      break
    case FrameType.SIGNAL_FROM:
      e.string(f.from)
      e.string(f.data)
      break
    case FrameType.SIGNAL_FAILED:
      e.string(f.to)
      e.varuint(f.code)
      break
    case FrameType.RELAY_FROM:
      e.string(f.from)
      e.varuint(f.serverTs)
      e.bytes(f.payload)
      break
    case FrameType.RELAY_RESULT:
      e.varuint(f.reqId)
      e.uint8(f.status)
      e.varuint(f.serverTs)
      break
    case FrameType.OFFLINE_MESSAGES:
      e.varuint(f.messages.length)
      for (const m of f.messages) {
        e.varuint(m.id)
        e.string(m.from)
        e.varuint(m.serverTs)
        e.bytes(m.payload)
      }
      e.varuint(f.dropped.length)
      for (const x of f.dropped) {
        e.string(x.from)
        e.string(x.stream)
        writeRanges(e, x.ranges)
        e.varuint(x.count)
      }
      break
    case FrameType.TOKEN_WILL_EXPIRE:
      e.varuint(f.expiresAt)
      break
    case FrameType.JOIN_CHANNEL:
      e.varuint(f.reqId)
      e.string(f.channel)
      if (f.overlayKey) e.bytes(f.overlayKey) // protocol 4, trailing
      break
    case FrameType.LEAVE_CHANNEL:
    case FrameType.GET_MEMBERS:
      e.varuint(f.reqId)
      e.string(f.channel)
      break
    case FrameType.GET_MEMBER_COUNTS:
      e.varuint(f.reqId)
      writeStrings(e, f.channels)
      break
    case FrameType.CHANNEL_SYNC_TO_NODE:
      e.varuint(f.reqId)
      e.string(f.channel)
      e.varuint(f.epoch)
      e.uint8(f.kind)
      e.bool(f.notify)
      e.bytes(f.payload)
      break
    case FrameType.CHANNEL_SYNC_FROM_NODE:
      e.string(f.channel)
      e.string(f.from)
      e.varuint(f.epoch)
      e.uint8(f.kind)
      e.bool(f.notify)
      e.bytes(f.payload)
      break
    case FrameType.CHANNEL_ATTRS_WRITE:
      e.varuint(f.reqId)
      e.string(f.channel)
      e.uint8(f.op)
      writePairs(e, f.attrs)
      writeStrings(e, f.keys)
      e.bool(f.notify)
      break
    case FrameType.CHANNEL_ATTRS_GET:
      e.varuint(f.reqId)
      e.string(f.channel)
      writeStrings(e, f.keys)
      break
    case FrameType.USER_ATTRS_WRITE:
      e.varuint(f.reqId)
      e.uint8(f.op)
      writePairs(e, f.attrs)
      writeStrings(e, f.keys)
      break
    case FrameType.USER_ATTRS_GET:
      e.varuint(f.reqId)
      e.string(f.uid)
      writeStrings(e, f.keys)
      break
    case FrameType.USER_ATTRS_SUBSCRIBE:
    case FrameType.USER_ATTRS_UNSUBSCRIBE:
      e.varuint(f.reqId)
      writeIds(e, f.uids)
      break
    case FrameType.MEMBERS:
      e.varuint(f.reqId)
      e.string(f.channel)
      e.varuint(f.count)
      writeIds(e, f.members)
      if (f.cert) writeMemberCert(e, f.cert) // protocol 4, trailing
      break
    case FrameType.MEMBER_COUNTS:
      e.varuint(f.reqId)
      e.varuint(f.counts.length)
      for (const c of f.counts) {
        e.string(c.channel)
        e.varuint(c.count)
      }
      break
    case FrameType.MEMBER_EVENT:
      e.string(f.channel)
      e.string(f.uid)
      e.bool(f.joined)
      e.varuint(f.count)
      break
    case FrameType.MEMBER_COUNT_UPDATED:
      e.string(f.channel)
      e.varuint(f.count)
      break
    case FrameType.OVERLAY_OUTSIDE:
      e.string(f.channel)
      e.varuint(f.count)
      e.varuint(f.version)
      break
    case FrameType.ATTRIBUTES:
      e.varuint(f.reqId)
      writeEntries(e, f.attrs)
      break
    case FrameType.USER_ATTRS_CHANGED:
      e.string(f.uid)
      writeEntries(e, f.attrs)
      break
    case FrameType.INVITE_SEND:
      e.varuint(f.reqId)
      e.string(f.id)
      e.string(f.callee)
      e.string(f.content)
      e.string(f.channel)
      break
    case FrameType.INVITE_CANCEL:
      e.varuint(f.reqId)
      e.string(f.id)
      break
    case FrameType.INVITE_ACK:
      e.string(f.caller)
      e.string(f.id)
      break
    case FrameType.INVITE_ANSWER:
      e.varuint(f.reqId)
      e.string(f.caller)
      e.string(f.id)
      e.bool(f.accept)
      e.string(f.response)
      break
    case FrameType.INVITE_RECEIVED:
      e.string(f.caller)
      e.string(f.id)
      e.string(f.content)
      e.string(f.channel)
      break
    case FrameType.INVITE_EVENT:
      e.string(f.peer)
      e.string(f.id)
      e.bool(f.outgoing)
      writeInvitationEvent(e, f.event, f.reason)
      e.string(f.response)
      break
    case FrameType.CHANNEL_BROADCAST:
    case FrameType.OVERLAY_OUTSIDE_SEND:
      e.varuint(f.reqId)
      e.string(f.channel)
      e.bytes(f.payload)
      break
    case FrameType.INVITE_SYNC:
      e.varuint(f.reqId)
      writeStrings(e, f.outgoing)
      e.varuint(f.incoming.length)
      for (const x of f.incoming) {
        e.string(x.caller)
        e.string(x.id)
      }
      break
    case FrameType.INVITE_SYNC_RESULT:
      e.varuint(f.reqId)
      e.varuint(f.entries.length)
      for (const x of f.entries) {
        e.string(x.peer)
        e.string(x.id)
        e.bool(x.outgoing)
        e.bool(x.known)
        writeInvitationEvent(e, x.event, x.reason)
        e.string(x.response)
      }
      break
    case FrameType.MODERATE:
      e.varuint(f.reqId)
      e.string(f.channel)
      e.string(f.uid)
      e.varuint(f.action)
      e.varuint(f.seconds)
      break
    case FrameType.MEMBER_STATE:
      e.string(f.channel)
      e.string(f.uid)
      e.string(f.role)
      e.bool(f.muted)
      e.bool(f.mayPublish)
      break
    // ---- channel overlay (protocol 4) ----
    case FrameType.OVERLAY_CANDIDATES:
      e.varuint(f.reqId)
      e.string(f.channel)
      e.varuint(f.max)
      break
    case FrameType.OVERLAY_CANDIDATES_RESULT:
      e.varuint(f.reqId)
      e.string(f.channel)
      e.varuint(f.candidates.length)
      for (const c of f.candidates) {
        e.string(c.uid)
        e.bool(c.cert !== null)
        if (c.cert) writeMemberCert(e, c.cert)
      }
      break
    default:
      throw new TypeError(`cannot encode frame ${(f as Frame).type}`)
  }
  return e.finish()
}

export { decodeFrame, decodeClientFrame, decodeServerFrame, isClientFrame, peekRequestId } from './frame-decode.js'
