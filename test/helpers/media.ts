import { createHash } from 'node:crypto'
import type { MediaMessage, PlazaChannel, PlazaClient, ReceivedMessage } from '@plaza/client'

export const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

const isMedia = (m: ReceivedMessage): m is MediaMessage => m.messageType === 'FILE' || m.messageType === 'IMAGE'

/** The next media message `c` receives (as a peer message). */
export function nextMedia(c: PlazaClient): Promise<MediaMessage> {
  return new Promise((resolve) => {
    const fn = (m: ReceivedMessage) => {
      if (!isMedia(m)) return
      c.off('MessageFromPeer', fn)
      resolve(m)
    }
    c.on('MessageFromPeer', fn)
  })
}

/** The next media message sent to channel `ch`. */
export function nextChannelMedia(ch: PlazaChannel): Promise<MediaMessage> {
  return new Promise((resolve) => {
    const fn = (m: ReceivedMessage) => {
      if (!isMedia(m)) return
      ch.off('ChannelMessage', fn)
      resolve(m)
    }
    ch.on('ChannelMessage', fn)
  })
}
