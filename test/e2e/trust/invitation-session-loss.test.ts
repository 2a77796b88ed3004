import { afterAll, describe, expect, it } from 'vitest'
import { ConnectionState, ErrorCode, InvitationFailureReason, LocalInvitationState, PlazaError } from '@plaza/client'
import { closeClients, loggedIn } from '../../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { waitForEvent } from '../../helpers/wait.js'

// Issue 9, item 7: the node forgets a caller's invitations when its session ends; after a
// reconnect that is not a resume, the caller's LocalInvitation must fail (NOT_LOGGEDIN) rather
// than stay SENT_TO_REMOTE for ever with a cancel() that throws UNKNOWN_INVITATION.
let node: RendezvousProcess
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

describe('invitations across a lost session', () => {
  it('a kill -9 and restart of the node fails the caller’s invitation with NOT_LOGGEDIN', async () => {
    node = await startRendezvous()
    const caller = await loggedIn(node, 'is-caller', { directLinks: false })
    const inv = caller.createLocalInvitation('is-callee') // the callee is not logged in
    inv.content = 'call me'
    const failures: InvitationFailureReason[] = []
    inv.on('LocalInvitationFailure', (reason) => failures.push(reason))
    await inv.send()
    expect(inv.state).toBe(LocalInvitationState.SENT_TO_REMOTE)

    const back = waitForEvent(caller, 'ConnectionStateChanged', (s) => s === ConnectionState.CONNECTED, 20_000)
    await node.kill()
    await node.restart()
    await back // a fresh session: the node that held the invitation is gone
    // "Within a few seconds": wait up to 5 s for the failure, then look.
    if (!failures.length) await waitForEvent(inv, 'LocalInvitationFailure', () => true, 5000).catch(() => undefined)
    expect({ state: inv.state, failures }).toEqual({ state: LocalInvitationState.FAILURE, failures: [InvitationFailureReason.NOT_LOGGEDIN] })
    const err = await inv.cancel().then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(PlazaError)
    expect((err as PlazaError).code).toBe(ErrorCode.INVALID_STATE)
  })
})
