/**
 * Frames of a direct link itself (PROTOCOL.md, "Link frames"), below peer, media and overlay
 * frames: HELLO says what the sender's end of the link understands, BATCH carries several frames
 * in one data channel message. Each data channel send costs a thread hop in WebRTC (hundreds of µs
 * in @roamhq/wrtc under load), so frames made in one turn go together once the other end said it
 * takes batches. BYE says this end is closing the link and sends nothing more on it. Type numbers
 * 13–15 sit between peer/media frames (1–9) and overlay frames (16+).
 */
import { Decoder, Encoder } from './binary.js'
import { ErrorCode, ProtocolError } from './errors.js'

export enum LinkFrameType {
  BYE = 13,
  HELLO = 14,
  BATCH = 15,
}

/** What an end of a link understands (HELLO's bit set). */
export enum LinkFeature {
  BATCH = 1,
}

/** Frames in one BATCH, and its size: well under what every WebRTC stack delivers in one message. */
export const MAX_LINK_BATCH_FRAMES = 256
export const MAX_LINK_BATCH_BYTES = 64 * 1024

export function isLinkFrameBytes(bytes: Uint8Array): boolean {
  const t = bytes[0]
  return t === LinkFrameType.HELLO || t === LinkFrameType.BATCH || t === LinkFrameType.BYE
}

/** BYE: the tag alone. */
export function encodeLinkBye(): Uint8Array {
  return Uint8Array.of(LinkFrameType.BYE)
}

export function encodeLinkHello(features: number): Uint8Array {
  const e = new Encoder(8)
  e.varuint(LinkFrameType.HELLO)
  e.varuint(features)
  return e.finish()
}

/** The features a HELLO names (unknown bits kept, for what later versions add). */
export function decodeLinkHello(bytes: Uint8Array): number {
  const d = new Decoder(bytes)
  if (d.varuint() !== LinkFrameType.HELLO) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'not a HELLO')
  return d.varuint()
}

/** One data channel message holding `frames` (2 or more; none of them a link frame). */
export function encodeLinkBatch(frames: Uint8Array[], totalBytes: number): Uint8Array {
  const e = new Encoder(totalBytes + 4 + frames.length * 3)
  e.varuint(LinkFrameType.BATCH)
  e.varuint(frames.length)
  for (const f of frames) e.bytes(f)
  return e.finish()
}

/**
 * The frames of a BATCH, each a copy (a view would keep the whole batch alive as long as any one
 * of its frames is kept, in a cache say); throws ProtocolError on a malformed one, fewer than two
 * frames, a nested link frame or an empty frame.
 */
export function decodeLinkBatch(bytes: Uint8Array): Uint8Array[] {
  if (bytes.length > MAX_LINK_BATCH_BYTES + 8 + MAX_LINK_BATCH_FRAMES * 3) throw new ProtocolError(ErrorCode.FRAME_TOO_LARGE, 'batch too large')
  const d = new Decoder(bytes)
  if (d.varuint() !== LinkFrameType.BATCH) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'not a BATCH')
  const n = d.count(MAX_LINK_BATCH_FRAMES)
  if (n < 2) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'a batch of fewer than two frames')
  const out: Uint8Array[] = []
  for (let i = 0; i < n; i++) {
    const f = d.bytes(MAX_LINK_BATCH_BYTES)
    if (f.length === 0 || isLinkFrameBytes(f)) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'empty or nested frame in a batch')
    out.push(f)
  }
  d.end()
  for (let i = 0; i < out.length; i++) out[i] = out[i]!.slice()
  return out
}
