import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  ErrorCode,
  InvitationFailureReason,
  LocalInvitationState,
  PlazaError,
  RemoteInvitationState,
  type RemoteInvitation,
} from '@plaza/client'
import WebSocket from 'ws'
import { FrameType, PROTOCOL_VERSION, encodeFrame } from '@plaza/protocol'
import { closeClients, loggedIn, makeClient } from '../helpers/clients.js'
import { APP_ID, startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { waitForEvent } from '../helpers/wait.js'

// Short invitation timeouts so the suite need not wait a minute; the logic is the same.
let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous({
    args: ['--invitation-offline-ms', '1500', '--invitation-no-response-ms', '1500', '--invitation-expire-ms', '1500'],
  })
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeClients())

async function codeOf(p: Promise<unknown>): Promise<ErrorCode | null> {
  return p.then(
    () => null,
    (e: unknown) => (e instanceof PlazaError ? e.code : null),
  )
}

async function pair(tag: string) {
  const caller = await loggedIn(node, `${tag}-caller`, { directLinks: false })
  const callee = await loggedIn(node, `${tag}-callee`, { directLinks: false })
  return { caller, callee }
}

describe('call invitations', () => {
  it('accept: the callee gets content and channel, the caller gets the response', async () => {
    const { caller, callee } = await pair('acc')
    const received = waitForEvent<[RemoteInvitation]>(callee, 'RemoteInvitationReceived')
    const inv = caller.createLocalInvitation('acc-callee')
    inv.content = 'join me'
    inv.channelId = 'room-call'
    const byPeer = waitForEvent(inv, 'LocalInvitationReceivedByPeer')
    await inv.send()
    // The callee's receipt may already have been processed by the time send() resolves (seen under load).
    expect([LocalInvitationState.SENT_TO_REMOTE, LocalInvitationState.RECEIVED_BY_REMOTE]).toContain(inv.state)
    const [remote] = await received
    await byPeer
    expect(inv.state).toBe(LocalInvitationState.RECEIVED_BY_REMOTE)
    expect(remote).toMatchObject({ callerId: 'acc-caller', content: 'join me', channelId: 'room-call', state: RemoteInvitationState.INVITATION_RECEIVED })
    const accepted = waitForEvent<[string]>(inv, 'LocalInvitationAccepted')
    const remoteAccepted = waitForEvent(remote, 'RemoteInvitationAccepted')
    remote.response = 'on my way'
    await remote.accept()
    await remoteAccepted
    expect((await accepted)[0]).toBe('on my way')
    expect(inv.state).toBe(LocalInvitationState.ACCEPTED_BY_REMOTE)
    expect(inv.response).toBe('on my way')
    expect(remote.state).toBe(RemoteInvitationState.ACCEPTED)
    // Wrong-state calls are refused, not ignored.
    expect(await codeOf(remote.refuse())).toBe(ErrorCode.INVALID_STATE)
    expect(await codeOf(inv.cancel())).toBe(ErrorCode.INVALID_STATE)
    expect(await codeOf(inv.send())).toBe(ErrorCode.INVALID_STATE)
  })

  it('refuse: the caller gets LocalInvitationRefused with the response', async () => {
    const { caller, callee } = await pair('ref')
    callee.on('RemoteInvitationReceived', (r: RemoteInvitation) => {
      r.response = 'busy'
      void r.refuse()
    })
    const inv = caller.createLocalInvitation('ref-callee')
    const refused = waitForEvent<[string]>(inv, 'LocalInvitationRefused')
    await inv.send()
    expect((await refused)[0]).toBe('busy')
    expect(inv.state).toBe(LocalInvitationState.REFUSED_BY_REMOTE)
  })

  it('cancel after receipt: the callee gets RemoteInvitationCanceled', async () => {
    const { caller, callee } = await pair('can')
    const received = waitForEvent<[RemoteInvitation]>(callee, 'RemoteInvitationReceived')
    const inv = caller.createLocalInvitation('can-callee')
    const byPeer = waitForEvent(inv, 'LocalInvitationReceivedByPeer')
    await inv.send()
    const [remote] = await received
    await byPeer
    const canceled = waitForEvent(remote, 'RemoteInvitationCanceled')
    const localCanceled = waitForEvent(inv, 'LocalInvitationCanceled')
    await inv.cancel()
    await Promise.all([canceled, localCanceled])
    expect(remote.state).toBe(RemoteInvitationState.CANCELED)
    expect(inv.state).toBe(LocalInvitationState.CANCELED)
    // Accepting a canceled invitation is a clear error.
    expect(await codeOf(remote.accept())).toBe(ErrorCode.INVALID_STATE)
  })

  it('cancel before receipt (callee offline): the callee never hears of it', async () => {
    const caller = await loggedIn(node, 'cb-caller', { directLinks: false })
    const inv = caller.createLocalInvitation('cb-callee')
    await inv.send()
    await inv.cancel()
    expect(inv.state).toBe(LocalInvitationState.CANCELED)
    const callee = makeClient(node, { directLinks: false })
    const heard: string[] = []
    callee.on('RemoteInvitationReceived', (r: RemoteInvitation) => heard.push(r.id))
    await callee.login({ uid: 'cb-callee', token: await node.token('cb-callee') })
    // A later invitation from the same caller arrives; the canceled one would have come first.
    const later = caller.createLocalInvitation('cb-callee')
    const arrived = waitForEvent(callee, 'RemoteInvitationReceived')
    await later.send()
    await arrived
    expect(heard).toEqual([later.id])
  })

  it('an offline callee who logs in within the window still gets it', async () => {
    const caller = await loggedIn(node, 'ow-caller', { directLinks: false })
    const inv = caller.createLocalInvitation('ow-callee')
    inv.content = 'late but fine'
    await inv.send()
    const callee = makeClient(node, { directLinks: false })
    const received = waitForEvent<[RemoteInvitation]>(callee, 'RemoteInvitationReceived')
    await callee.login({ uid: 'ow-callee', token: await node.token('ow-callee') })
    const [remote] = await received
    expect(remote.content).toBe('late but fine')
    await waitForEvent(inv, 'LocalInvitationReceivedByPeer')
  })

  it('a callee who never comes: PEER_OFFLINE', async () => {
    const caller = await loggedIn(node, 'nc-caller', { directLinks: false })
    const inv = caller.createLocalInvitation('nc-nobody')
    const failed = waitForEvent<[InvitationFailureReason]>(inv, 'LocalInvitationFailure', () => true, 5000)
    await inv.send()
    expect((await failed)[0]).toBe(InvitationFailureReason.PEER_OFFLINE)
    expect(inv.state).toBe(LocalInvitationState.FAILURE)
  })

  it('received but not answered: INVITATION_EXPIRE on both sides', async () => {
    const { caller, callee } = await pair('exp')
    const received = waitForEvent<[RemoteInvitation]>(callee, 'RemoteInvitationReceived')
    const inv = caller.createLocalInvitation('exp-callee')
    const failed = waitForEvent<[InvitationFailureReason]>(inv, 'LocalInvitationFailure', () => true, 5000)
    await inv.send()
    const [remote] = await received
    const remoteFailed = waitForEvent<[InvitationFailureReason]>(remote, 'RemoteInvitationFailure', () => true, 5000)
    expect((await failed)[0]).toBe(InvitationFailureReason.INVITATION_EXPIRE)
    expect((await remoteFailed)[0]).toBe(InvitationFailureReason.INVITATION_EXPIRE)
    expect(remote.state).toBe(RemoteInvitationState.FAILURE)
  })

  it('a callee whose client never acknowledges: PEER_NO_RESPONSE', async () => {
    const caller = await loggedIn(node, 'nr-caller', { directLinks: false })
    // A bare protocol client logs in as the callee and ignores the invitation.
    const ws = new WebSocket(node.url)
    await new Promise((r) => ws.once('open', r))
    ws.send(encodeFrame({ type: FrameType.LOGIN, version: PROTOCOL_VERSION, appId: APP_ID, uid: 'nr-callee', token: await node.token('nr-callee'), resume: '' }))
    await new Promise((r) => ws.once('message', r))
    const keepAlive = setInterval(() => ws.send(encodeFrame({ type: FrameType.PING, ts: Date.now() })), 500)
    try {
      const inv = caller.createLocalInvitation('nr-callee')
      const failed = waitForEvent<[InvitationFailureReason]>(inv, 'LocalInvitationFailure', () => true, 5000)
      await inv.send()
      expect((await failed)[0]).toBe(InvitationFailureReason.PEER_NO_RESPONSE)
    } finally {
      clearInterval(keepAlive)
      ws.close()
    }
  })

  it('a caller who disconnects mid-call: the callee gets PEER_OFFLINE, and an accept fails ACCEPT_FAILURE', async () => {
    const { caller, callee } = await pair('dc')
    const received = waitForEvent<[RemoteInvitation]>(callee, 'RemoteInvitationReceived')
    const inv = caller.createLocalInvitation('dc-callee')
    await inv.send()
    const [remote] = await received
    const failed = waitForEvent<[InvitationFailureReason]>(remote, 'RemoteInvitationFailure')
    await caller.logout()
    expect(inv.state).toBe(LocalInvitationState.FAILURE)
    expect((await failed)[0]).toBe(InvitationFailureReason.PEER_OFFLINE)

    // Accepting at the same moment as the caller leaves: ACCEPT_FAILURE.
    const { caller: c2, callee: e2 } = await pair('af')
    const got2 = waitForEvent<[RemoteInvitation]>(e2, 'RemoteInvitationReceived')
    await c2.createLocalInvitation('af-callee').send()
    const [r2] = await got2
    const f2 = waitForEvent<[InvitationFailureReason]>(r2, 'RemoteInvitationFailure')
    await c2.logout()
    await r2.accept().catch(() => undefined)
    const [reason] = await f2
    expect([InvitationFailureReason.PEER_OFFLINE, InvitationFailureReason.ACCEPT_FAILURE]).toContain(reason)
  })

  it('fails NOT_LOGGEDIN when sent while logged out, and refuses content over 8 KB', async () => {
    const client = makeClient(node)
    const inv = client.createLocalInvitation('someone')
    const failed = waitForEvent<[InvitationFailureReason]>(inv, 'LocalInvitationFailure')
    await inv.send()
    expect((await failed)[0]).toBe(InvitationFailureReason.NOT_LOGGEDIN)
    const big = (await loggedIn(node, 'big-caller')).createLocalInvitation('x')
    big.content = 'x'.repeat(8 * 1024 + 1)
    expect(await codeOf(big.send())).toBe(ErrorCode.INVALID_ARGUMENT)
    expect(() => client.createLocalInvitation('')).toThrow(PlazaError)
  })
})
