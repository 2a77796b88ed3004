import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  RtmInvalidArgumentError,
  RtmInvalidStatusError,
  type ReceivedMessageProperties,
  type RtmFileMessage,
  type RtmImageMessage,
  type RtmMessage,
} from '@plaza/agora-rtm'
import { PeerMessageState, type ReceivedMessage } from '@plaza/client'
import { closeClients, loggedIn } from '../../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { waitForEvent } from '../../helpers/wait.js'
import { agoraClient, agoraLoggedIn, closeAgora, rejection } from './util.js'

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(() => stopRendezvous(node))
afterEach(async () => {
  await closeAgora()
  await closeClients()
})

type PeerArgs = [RtmMessage, string, ReceivedMessageProperties]

describe('sendMessageToPeer', () => {
  it('resolves { hasPeerReceived: true } once the peer got it, as MessageFromPeer(message, peerId, messageProps)', async () => {
    const alice = await agoraLoggedIn(node, 'pm-alice')
    const bob = await agoraLoggedIn(node, 'pm-bob')
    const got = waitForEvent<PeerArgs>(bob, 'MessageFromPeer')
    const before = Date.now()
    expect(await alice.sendMessageToPeer(alice.createMessage({ text: 'hello' }), 'pm-bob')).toEqual({ hasPeerReceived: true })
    const [message, peerId, props] = await got
    expect(message).toEqual({ messageType: 'TEXT', text: 'hello' })
    expect(peerId).toBe('pm-alice')
    expect(props.isOfflineMessage).toBe(false)
    expect(props.serverReceivedTs).toBeGreaterThanOrEqual(before - 1000)
  })

  it('carries raw messages with their description', async () => {
    const alice = await agoraLoggedIn(node, 'pm-raw-a')
    const bob = await agoraLoggedIn(node, 'pm-raw-b')
    const got = waitForEvent<PeerArgs>(bob, 'MessageFromPeer')
    const bytes = new Uint8Array([0, 1, 2, 255])
    await alice.sendMessageToPeer({ rawMessage: bytes, description: 'bin' }, 'pm-raw-b')
    const [message] = await got
    expect(message.messageType).toBe('RAW')
    expect(message).toMatchObject({ description: 'bin' })
    expect([...(message as { rawMessage: Uint8Array }).rawMessage]).toEqual([0, 1, 2, 255])
  })

  it('resolves { hasPeerReceived: false } for an offline peer; with enableOfflineMessaging the peer gets it at login, isOfflineMessage true', async () => {
    const alice = await agoraLoggedIn(node, 'pm-off-a')
    expect(await alice.sendMessageToPeer({ text: 'gone' }, 'pm-off-b')).toEqual({ hasPeerReceived: false })
    expect(await alice.sendMessageToPeer({ text: 'kept' }, 'pm-off-b', { enableOfflineMessaging: true })).toEqual({ hasPeerReceived: false })
    const bob = agoraClient(node)
    const got = waitForEvent<PeerArgs>(bob, 'MessageFromPeer')
    await bob.login({ uid: 'pm-off-b', token: await node.token('pm-off-b') })
    const [message, peerId, props] = await got
    expect(message).toEqual({ messageType: 'TEXT', text: 'kept' })
    expect(peerId).toBe('pm-off-a')
    expect(props.isOfflineMessage).toBe(true)
  })

  it('rejects with PEER_MESSAGE_ERR_* codes: invalid user id 6, invalid message 7, not logged in 102', async () => {
    const alice = await agoraLoggedIn(node, 'pm-err-a')
    const badPeer = await rejection(alice.sendMessageToPeer({ text: 'x' }, ''))
    expect(badPeer).toBeInstanceOf(RtmInvalidArgumentError)
    expect(badPeer.code).toBe(6)
    const tooBig = await rejection(alice.sendMessageToPeer({ text: 'x'.repeat(33 * 1024) }, 'pm-err-b'))
    expect(tooBig).toBeInstanceOf(RtmInvalidArgumentError)
    expect(tooBig.code).toBe(7)
    const notAMessage = await rejection(alice.sendMessageToPeer({ text: 1 } as unknown as RtmMessage, 'pm-err-b'))
    expect(notAMessage.code).toBe(7)
    const loggedOut = await rejection(agoraClient(node).sendMessageToPeer({ text: 'x' }, 'pm-err-b'))
    expect(loggedOut).toBeInstanceOf(RtmInvalidStatusError)
    expect(loggedOut.code).toBe(102)
  })
})

describe('alongside @plaza/client', () => {
  it('talks with an app on the plain Plaza client: the same wire, each side in its own API', async () => {
    const agora = await agoraLoggedIn(node, 'mix-agora')
    const plain = await loggedIn(node, 'mix-plain')
    const atPlain = waitForEvent<[ReceivedMessage, string]>(plain, 'MessageFromPeer')
    expect(await agora.sendMessageToPeer({ text: 'from agora' }, 'mix-plain')).toEqual({ hasPeerReceived: true })
    expect((await atPlain).slice(0, 2)).toEqual([{ messageType: 'TEXT', text: 'from agora' }, 'mix-agora'])
    const atAgora = waitForEvent<PeerArgs>(agora, 'MessageFromPeer')
    expect((await plain.sendMessageToPeer({ text: 'from plain' }, 'mix-agora')).state).toBe(PeerMessageState.RECEIVED_BY_PEER)
    expect((await atAgora).slice(0, 2)).toEqual([{ messageType: 'TEXT', text: 'from plain' }, 'mix-plain'])
  })
})

describe('media messages (createMediaMessageByUploading / downloadMedia)', () => {
  it('sends a file as a FILE message whose bytes the receiver downloads, with progress', async () => {
    const alice = await agoraLoggedIn(node, 'md-a')
    const bob = await agoraLoggedIn(node, 'md-b')
    const bytes = new Uint8Array(200_000).map((_, i) => (i * 7) % 251)
    const made: number[] = []
    const file = await alice.createMediaMessageByUploading(
      new Blob([bytes], { type: 'application/octet-stream' }),
      { messageType: 'FILE', fileName: 'data.bin', description: 'some bytes' },
      { onOperationProgress: (p) => made.push(p.currentSize / p.totalSize) },
    )
    expect(file).toMatchObject({ messageType: 'FILE', fileName: 'data.bin', description: 'some bytes', size: bytes.length })
    expect(typeof file.mediaId).toBe('string')
    expect(made.at(-1)).toBe(1)

    const got = waitForEvent<PeerArgs>(bob, 'MessageFromPeer')
    expect(await alice.sendMessageToPeer(file, 'md-b')).toEqual({ hasPeerReceived: true })
    const [message] = await got
    const received = message as RtmFileMessage
    expect(received).toMatchObject({ messageType: 'FILE', mediaId: file.mediaId, fileName: 'data.bin', size: bytes.length, thumbnail: undefined })
    const progress: number[] = []
    const blob = await bob.downloadMedia(received.mediaId, { onOperationProgress: (p) => progress.push(p.currentSize) })
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(bytes)
    expect(progress.at(-1)).toBe(bytes.length)
  })

  it('sends an image with its size and thumbnail (a Blob on arrival)', async () => {
    const alice = await agoraLoggedIn(node, 'mi-a')
    const bob = await agoraLoggedIn(node, 'mi-b')
    const thumb = new Uint8Array([9, 8, 7, 6])
    const image = await alice.createMediaMessageByUploading(new Blob([new Uint8Array(5000).fill(3)], { type: 'image/png' }), {
      messageType: 'IMAGE',
      fileName: 'p.png',
      width: 640,
      height: 480,
      thumbnail: new Blob([thumb]),
    })
    expect(image).toMatchObject({ messageType: 'IMAGE', width: 640, height: 480, size: 5000 })
    const got = waitForEvent<PeerArgs>(bob, 'MessageFromPeer')
    await alice.sendMessageToPeer(image, 'mi-b')
    const received = (await got)[0] as RtmImageMessage
    expect(received).toMatchObject({ messageType: 'IMAGE', width: 640, height: 480, fileName: 'p.png' })
    expect(received.thumbnail).toBeInstanceOf(Blob)
    expect(new Uint8Array(await received.thumbnail!.arrayBuffer())).toEqual(thumb)
    expect((await bob.downloadMedia(received.mediaId)).size).toBe(5000)
  })

  it('rejects with an AbortError when cancelSignal is aborted, and refuses an unknown mediaId on send', async () => {
    const alice = await agoraLoggedIn(node, 'mc-a')
    const ctl = new AbortController()
    ctl.abort()
    const err = await rejection(alice.createMediaMessageByUploading(new Blob([new Uint8Array(10)]), { fileName: 'x' }, { cancelSignal: ctl.signal }))
    expect(err.name).toBe('AbortError')
    const unknown = await rejection(
      alice.sendMessageToPeer({ messageType: 'FILE', mediaId: 'f'.repeat(64), fileName: 'x', description: '', size: 1, thumbnail: undefined }, 'mc-b'),
    )
    expect(unknown).toBeInstanceOf(RtmInvalidArgumentError)
  })
})
