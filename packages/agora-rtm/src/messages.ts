/**
 * Messages as agora-rtm-sdk 1.x spells them, and their Plaza counterparts. Text and raw messages
 * are the same shape on both sides; file and image messages (agora-rtm-sdk 1.4) are Plaza media
 * messages, whose extra fields (hashes, piece size) stay with this module, looked up by mediaId.
 */
import type { MediaMessage, ReceivedMessage, RtmMessage as PlazaMessage } from '@plaza/client'
import { rtmError, type Operation } from './errors.js'

export interface RtmTextMessage {
  text: string
  messageType?: 'TEXT'
  rawMessage?: never
  description?: never
}

export interface RtmRawMessage {
  rawMessage: Uint8Array
  description?: string
  messageType?: 'RAW'
  text?: never
}

export interface RtmFileMessage {
  fileName: string
  description: string
  thumbnail: Blob | undefined
  size: number
  mediaId: string
  messageType: 'FILE'
}

export interface RtmImageMessage {
  width: number
  height: number
  fileName: string
  description: string
  thumbnail: Blob | undefined
  /** Plaza does not carry a thumbnail's own size: 0. */
  thumbnailWidth: number
  thumbnailHeight: number
  size: number
  mediaId: string
  messageType: 'IMAGE'
}

export type RtmMessage = RtmTextMessage | RtmRawMessage | RtmFileMessage | RtmImageMessage

export interface ReceivedMessageProperties {
  /** When the node took it (relay, offline store); for a direct or channel message, when it was sent or arrived. */
  serverReceivedTs: number
  isOfflineMessage: boolean
}

/** Plaza media messages made or received here, by mediaId, so an SDK-shaped copy can be sent on. */
export class MediaBook {
  private readonly byId = new Map<string, MediaMessage>()
  constructor(private readonly max = 1024) {}

  remember(m: MediaMessage): void {
    this.byId.delete(m.mediaId)
    this.byId.set(m.mediaId, m)
    if (this.byId.size > this.max) this.byId.delete(this.byId.keys().next().value as string)
  }

  get(mediaId: string): MediaMessage | undefined {
    return this.byId.get(mediaId)
  }
}

function isPlainObject(m: unknown): m is Record<string, unknown> {
  return typeof m === 'object' && m !== null && !Array.isArray(m)
}

/** The SDK's createMessage: checks the fields and fills in messageType. */
export function createMessage<T extends RtmMessage>(message: Partial<T>): T {
  const m: unknown = message
  if (!isPlainObject(m)) throw rtmError('PEER_MESSAGE', 'argument', 'message object is not a plain object')
  if (m.messageType === 'FILE' || m.messageType === 'IMAGE') {
    if (typeof m.mediaId !== 'string') throw rtmError('PEER_MESSAGE', 'argument', 'a media message needs the mediaId of createMediaMessageByUploading')
    return { ...m } as unknown as T
  }
  if (m.messageType === 'RAW' || (m.messageType === undefined && m.rawMessage instanceof Uint8Array)) {
    if (!(m.rawMessage instanceof Uint8Array)) throw rtmError('PEER_MESSAGE', 'argument', 'rawMessage must be a Uint8Array')
    if (m.text !== undefined) throw rtmError('PEER_MESSAGE', 'argument', 'Raw messages cannot have text property')
    if (m.description !== undefined && typeof m.description !== 'string') throw rtmError('PEER_MESSAGE', 'argument', 'description must be a string')
    return { ...m, messageType: 'RAW' } as unknown as T
  }
  if (m.messageType === 'TEXT' || m.messageType === undefined) {
    if (typeof m.text !== 'string') throw rtmError('PEER_MESSAGE', 'argument', 'text must be a string')
    if (m.rawMessage !== undefined) throw rtmError('PEER_MESSAGE', 'argument', 'Text messages cannot have rawMessage property')
    return { ...m, messageType: 'TEXT' } as unknown as T
  }
  throw rtmError('PEER_MESSAGE', 'argument', 'Invalid message type')
}

/** The Plaza message to send for an SDK-shaped one. */
export function toPlaza(message: RtmMessage, media: MediaBook, op: Operation): PlazaMessage {
  const m = createMessage<RtmMessage>(message)
  switch (m.messageType) {
    case 'RAW':
      return { messageType: 'RAW', rawMessage: m.rawMessage, description: m.description ?? '' }
    case 'FILE':
    case 'IMAGE': {
      const known = media.get(m.mediaId)
      if (!known) throw rtmError(op, 'argument', `unknown mediaId ${m.mediaId}: make it with createMediaMessageByUploading (or receive it) on this client`)
      return known
    }
    default:
      return { messageType: 'TEXT', text: (m as RtmTextMessage).text }
  }
}

function thumbnailBlob(m: MediaMessage): Blob | undefined {
  if (m.thumbnail.length === 0 || typeof Blob === 'undefined') return undefined
  return new Blob([m.thumbnail as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' })
}

/** The SDK-shaped message for a Plaza one (media messages are remembered for downloadMedia and forwarding). */
export function fromPlaza(m: ReceivedMessage | MediaMessage, media: MediaBook): RtmMessage {
  switch (m.messageType) {
    case 'TEXT':
      return { messageType: 'TEXT', text: m.text }
    case 'RAW':
      return { messageType: 'RAW', rawMessage: m.rawMessage, description: m.description }
    case 'IMAGE':
      media.remember(m)
      return {
        messageType: 'IMAGE',
        mediaId: m.mediaId,
        size: m.size,
        fileName: m.fileName,
        description: m.description,
        thumbnail: thumbnailBlob(m),
        width: m.width,
        height: m.height,
        thumbnailWidth: 0,
        thumbnailHeight: 0,
      }
    default:
      media.remember(m)
      return {
        messageType: 'FILE',
        mediaId: m.mediaId,
        size: m.size,
        fileName: m.fileName,
        description: m.description,
        thumbnail: thumbnailBlob(m),
      }
  }
}
