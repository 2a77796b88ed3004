import { describe, expect, it } from 'vitest'
import { ErrorCode, FrameType, PlazaError, type ClientFrame, type ServerFrame } from '@plaza/protocol'
import { InvitationBook, type RemoteInvitation } from '../src/invitations.js'

/** A host whose requests are answered by `answer` (reject: the connection dropped first). */
function host(answer: (f: ClientFrame) => Promise<ServerFrame>) {
  const sent: ClientFrame[] = []
  return {
    sent,
    loggedIn: true,
    request: (build: (reqId: number) => ClientFrame) => {
      const f = build(1)
      sent.push(f)
      return answer(f)
    },
    send: (f: ClientFrame) => (sent.push(f), true),
  }
}

const invite = { type: FrameType.INVITE_RECEIVED, caller: 'alice', id: 'inv1', content: 'call?', channel: '' } as const
const lost = () => Promise.reject(new PlazaError(ErrorCode.CONNECTION_LOST, 'connection lost'))

// Found by the simulation's soak (seeds 5801, 10106, 10158): a refusal lost with the
// connection left the invitation pending at the node, which sent it again after the resync; the
// app got a second RemoteInvitation for the same call, could accept it, and the caller heard
// "accepted" from a callee whose app had refused.
describe('an invitation sent again by the node after its answer was lost', () => {
  it('is not offered to the app twice: the refusal is sent again instead', async () => {
    const h = host(lost)
    const offered: RemoteInvitation[] = []
    const book = new InvitationBook(h, (inv) => offered.push(inv), () => 'x')
    book.onReceived_(invite)
    expect(offered).toHaveLength(1)
    await offered[0].refuse().catch(() => undefined)

    book.onReceived_(invite)
    expect(offered).toHaveLength(1)
    const answers = h.sent.filter((f) => f.type === FrameType.INVITE_ANSWER)
    expect(answers).toHaveLength(2)
    expect(answers.every((f) => f.type === FrameType.INVITE_ANSWER && !f.accept && f.id === 'inv1' && f.caller === 'alice')).toBe(true)
  })

  it('is offered again after a fresh login (the node ended the old session and its invitations)', async () => {
    const h = host(lost)
    const offered: RemoteInvitation[] = []
    const book = new InvitationBook(h, (inv) => offered.push(inv), () => 'x')
    book.onReceived_(invite)
    await offered[0].refuse().catch(() => undefined)
    book.reset()
    book.onReceived_(invite)
    expect(offered).toHaveLength(2)
  })
})
