import { MessageKind, type PeerMessageFrame } from '@plaza/protocol'
import type { OutgoingBody } from './delivery/outbox.js'
import { isMediaMessage, toMediaInfoBytes, toMediaMessage } from './media/media-message.js'
import type { MediaManager } from './media/media.js'
import type { ReceivedMessage, RtmMessage } from './types.js'

/** The (empty, never written) bytes of a text message's body. */
const NO_BYTES = new Uint8Array(0)

/** The wire body of an app's message; null if it is not a message. */
export function toBody(m: RtmMessage, channel = ''): OutgoingBody | null {
  if (typeof m !== 'object' || m === null) return null
  if (isMediaMessage(m)) {
    const bytes = toMediaInfoBytes(m)
    const description = m.description ?? ''
    if (!bytes || typeof description !== 'string') return null
    return { channel, kind: MessageKind.MEDIA, text: '', bytes, description }
  }
  if (m.messageType === 'RAW') {
    if (!(m.rawMessage instanceof Uint8Array)) return null
    const description = m.description ?? ''
    if (typeof description !== 'string') return null
    return { channel, kind: MessageKind.RAW, text: '', bytes: m.rawMessage, description }
  }
  if (typeof m.text !== 'string') return null
  return { channel, kind: MessageKind.TEXT, text: m.text, bytes: NO_BYTES, description: '' }
}

/** What the app is handed for a received message; null for a media message whose info is not valid. */
export function toReceived(from: string, f: Pick<PeerMessageFrame, 'channel' | 'kind' | 'text' | 'bytes' | 'description'>, media: MediaManager): ReceivedMessage | null {
  if (f.kind === MessageKind.TEXT) return { messageType: 'TEXT', text: f.text }
  if (f.kind === MessageKind.RAW) return { messageType: 'RAW', rawMessage: f.bytes.slice(), description: f.description }
  const info = media.noteReceived(from, f.channel, f.bytes)
  return info ? toMediaMessage(info, f.description) : null
}
