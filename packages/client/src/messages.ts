import { MessageKind } from '@plaza/protocol'
import type { OutgoingBody } from './delivery/outbox.js'
import type { RtmMessage } from './types.js'

/** The (empty, never written) bytes of a text message's body. */
const NO_BYTES = new Uint8Array(0)

/** The wire body of an app's message; null if it is not a message. */
export function toBody(m: RtmMessage, channel = ''): OutgoingBody | null {
  if (typeof m !== 'object' || m === null) return null
  if (m.messageType === 'RAW') {
    if (!(m.rawMessage instanceof Uint8Array)) return null
    const description = m.description ?? ''
    if (typeof description !== 'string') return null
    return { channel, kind: MessageKind.RAW, text: '', bytes: m.rawMessage, description }
  }
  if (typeof m.text !== 'string') return null
  return { channel, kind: MessageKind.TEXT, text: m.text, bytes: NO_BYTES, description: '' }
}
