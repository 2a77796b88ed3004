import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  LocalInvitationFailureReason,
  LocalInvitationState,
  PeerOnlineState,
  PeerSubscriptionOption,
  RemoteInvitationFailureReason,
  RemoteInvitationState,
  RtmInvalidArgumentError,
  RtmInvalidStatusError,
  RtmLimitExceededError,
  type RemoteInvitation,
} from '@plaza/agora-rtm'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { waitForEvent } from '../../helpers/wait.js'
import { agoraClient, agoraLoggedIn, closeAgora, rejection, thrown } from './util.js'

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous({ args: ['--invitation-offline-ms', '1500', '--invitation-no-response-ms', '1500', '--invitation-expire-ms', '3000'] })
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeAgora())

type Status = Record<string, PeerOnlineState>

describe('online status', () => {
  it('queryPeersOnlineStatus answers true for online users and false for the others', async () => {
    const alice = await agoraLoggedIn(node, 'os-a')
    await agoraLoggedIn(node, 'os-b')
    expect(await alice.queryPeersOnlineStatus(['os-b', 'os-nobody'])).toEqual({ 'os-b': true, 'os-nobody': false })
  })

  it('subscribePeersOnlineStatus reports the state at once, then every change; queryPeersBySubscriptionOption lists the ids', async () => {
    const watcher = await agoraLoggedIn(node, 'os-w')
    const first = waitForEvent<[Status]>(watcher, 'PeersOnlineStatusChanged')
    await watcher.subscribePeersOnlineStatus(['os-t'])
    expect((await first)[0]).toEqual({ 'os-t': PeerOnlineState.OFFLINE })
    expect(await watcher.queryPeersBySubscriptionOption(PeerSubscriptionOption.ONLINE_STATUS)).toEqual(['os-t'])

    const online = waitForEvent<[Status]>(watcher, 'PeersOnlineStatusChanged', (s) => s['os-t'] === PeerOnlineState.ONLINE)
    const target = await agoraLoggedIn(node, 'os-t')
    await online
    const offline = waitForEvent<[Status]>(watcher, 'PeersOnlineStatusChanged', (s) => s['os-t'] === PeerOnlineState.OFFLINE)
    await target.logout()
    await offline

    await watcher.unsubscribePeersOnlineStatus(['os-t'])
    expect(await watcher.queryPeersBySubscriptionOption(PeerSubscriptionOption.ONLINE_STATUS)).toEqual([])
  })

  it('rejects more than 512 ids with RtmLimitExceededError (PEER_SUBSCRIPTION_STATUS_ERR_OVERFLOW) and not-logged-in calls with 102', async () => {
    const watcher = await agoraLoggedIn(node, 'os-many')
    const err = await rejection(watcher.subscribePeersOnlineStatus(Array.from({ length: 513 }, (_, i) => `n${i}`)))
    expect(err).toBeInstanceOf(RtmLimitExceededError)
    expect(err.code).toBe(6)
    const out = agoraClient(node)
    expect((await rejection(out.queryPeersOnlineStatus(['os-a']))).code).toBe(102)
    expect((await rejection(out.queryPeersBySubscriptionOption(PeerSubscriptionOption.ONLINE_STATUS))).code).toBe(102)
    const badOption = await rejection(watcher.queryPeersBySubscriptionOption('NO_SUCH' as PeerSubscriptionOption))
    expect(badOption).toBeInstanceOf(RtmInvalidArgumentError)
  })
})

describe('call invitations', () => {
  async function ring(callerId: string, calleeId: string) {
    const caller = await agoraLoggedIn(node, callerId)
    const callee = await agoraLoggedIn(node, calleeId)
    const inv = caller.createLocalInvitation(calleeId)
    inv.content = 'call me'
    inv.channelId = 'call-room'
    const received = waitForEvent<[RemoteInvitation]>(callee, 'RemoteInvitationReceived')
    const byPeer = waitForEvent(inv, 'LocalInvitationReceivedByPeer')
    expect(inv.state).toBe(LocalInvitationState.IDLE)
    inv.send()
    const [remote] = await received
    await byPeer
    return { caller, callee, inv, remote }
  }

  it('goes from send to RemoteInvitationReceived to accept, with content, channelId and the response', async () => {
    const { inv, remote } = await ring('iv-a', 'iv-b')
    expect(remote).toMatchObject({ callerId: 'iv-a', content: 'call me', channelId: 'call-room', state: RemoteInvitationState.INVITATION_RECEIVED })
    expect(inv.state).toBe(LocalInvitationState.RECEIVED_BY_REMOTE)
    const accepted = waitForEvent<[string]>(inv, 'LocalInvitationAccepted')
    const remoteAccepted = waitForEvent(remote, 'RemoteInvitationAccepted')
    remote.response = 'on my way'
    remote.accept()
    expect((await accepted)[0]).toBe('on my way')
    await remoteAccepted
    expect(inv.state).toBe(LocalInvitationState.ACCEPTED_BY_REMOTE)
    expect(inv.response).toBe('on my way')
    expect(remote.state).toBe(RemoteInvitationState.ACCEPTED)
    // Answered already: the SDK's INVITATION_API_CALL_ERR_ALREADY_ACCEPT, thrown at once.
    const again = thrown(() => remote.refuse())
    expect(again).toBeInstanceOf(RtmInvalidStatusError)
    expect(again.code).toBe(4)
  })

  it('refuses: LocalInvitationRefused(response) and RemoteInvitationRefused', async () => {
    const { inv, remote } = await ring('iv-r-a', 'iv-r-b')
    const refused = waitForEvent<[string]>(inv, 'LocalInvitationRefused')
    const remoteRefused = waitForEvent(remote, 'RemoteInvitationRefused')
    remote.response = 'busy'
    remote.refuse()
    expect((await refused)[0]).toBe('busy')
    await remoteRefused
    expect(inv.state).toBe(LocalInvitationState.REFUSED_BY_REMOTE)
    expect(remote.state).toBe(RemoteInvitationState.REFUSED)
  })

  it('cancels: LocalInvitationCanceled, and RemoteInvitationCanceled(content) at the callee', async () => {
    const { inv, remote } = await ring('iv-c-a', 'iv-c-b')
    const canceled = waitForEvent(inv, 'LocalInvitationCanceled')
    const remoteCanceled = waitForEvent<[string]>(remote, 'RemoteInvitationCanceled')
    inv.cancel()
    await canceled
    expect((await remoteCanceled)[0]).toBe('call me')
    expect(inv.state).toBe(LocalInvitationState.CANCELED)
    expect(remote.state).toBe(RemoteInvitationState.CANCELED)
  })

  it('fails with PEER_OFFLINE when the callee stays offline, and NOT_LOGGEDIN when the caller is logged out', async () => {
    const caller = await agoraLoggedIn(node, 'iv-f-a')
    const inv = caller.createLocalInvitation('iv-f-nobody')
    const failed = waitForEvent<[LocalInvitationFailureReason]>(inv, 'LocalInvitationFailure', () => true, 10_000)
    inv.send()
    expect((await failed)[0]).toBe(LocalInvitationFailureReason.PEER_OFFLINE)
    expect(inv.state).toBe(LocalInvitationState.FAILURE)

    const out = agoraClient(node).createLocalInvitation('iv-f-a')
    const notLoggedIn = waitForEvent<[LocalInvitationFailureReason]>(out, 'LocalInvitationFailure')
    out.send()
    expect((await notLoggedIn)[0]).toBe(LocalInvitationFailureReason.NOT_LOGGEDIN)
  })

  it('expires unanswered: LocalInvitationFailure and RemoteInvitationFailure with INVITATION_EXPIRE', async () => {
    const { inv, remote } = await ring('iv-x-a', 'iv-x-b')
    const local = waitForEvent<[LocalInvitationFailureReason]>(inv, 'LocalInvitationFailure', () => true, 10_000)
    const remoteFailed = waitForEvent<[RemoteInvitationFailureReason]>(remote, 'RemoteInvitationFailure', () => true, 10_000)
    expect((await remoteFailed)[0]).toBe(RemoteInvitationFailureReason.INVITATION_EXPIRE)
    expect((await local)[0]).toBe(LocalInvitationFailureReason.INVITATION_EXPIRE)
    expect(remote.state).toBe(RemoteInvitationState.FAILURE)
    expect(inv.state).toBe(LocalInvitationState.FAILURE)
  })

  it('throws at once for calls its state does not allow: cancel before send (2), send twice (5)', async () => {
    const caller = await agoraLoggedIn(node, 'iv-s-a')
    const inv = caller.createLocalInvitation('iv-s-b')
    expect(thrown(() => inv.cancel()).code).toBe(2)
    inv.send()
    const twice = thrown(() => inv.send())
    expect(twice).toBeInstanceOf(RtmInvalidStatusError)
    expect(twice.code).toBe(5)
  })

  it('throws RtmInvalidArgumentError at send for an invitation to oneself', async () => {
    const caller = await agoraLoggedIn(node, 'iv-self')
    const inv = caller.createLocalInvitation('iv-self')
    const err = thrown(() => inv.send())
    expect(err).toBeInstanceOf(RtmInvalidArgumentError)
    expect(err.code).toBe(1) // INVITATION_API_CALL_ERR_INVALID_ARGUMENT
    expect(inv.state).toBe(LocalInvitationState.IDLE)
  })
})
