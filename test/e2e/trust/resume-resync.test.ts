import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as awarenessProtocol from 'y-protocols/awareness'
import { ConnectionState, type ChannelAttributes } from '@plaza/client'
import { FrameType, SyncKind } from '@plaza/protocol'
import { closeClients, loggedIn } from '../../helpers/clients.js'
import { startProxy, type TcpProxy } from '../../helpers/proxy.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { until, waitForEvent } from '../../helpers/wait.js'
import { RawClient } from '../../helpers/raw-client.js'

// Issue 9, item 5: while a session is detached the node queues at most 4096 frames for it and
// drops the rest. On resume the client must converge anyway: here the member event of A
// leaving and a document update are among the dropped frames.
let node: RendezvousProcess
let proxy: TcpProxy | undefined
beforeAll(async () => {
  // Quick liveness; a detached session may resume for 8 s.
  node = await startRendezvous({ args: ['--unreachable-after', '1000', '--offline-after', '8000', '--ping-interval', '250'] })
})
afterAll(() => stopRendezvous(node))
afterEach(async () => {
  await closeClients()
  await proxy?.close()
  proxy = undefined
})

const metricText = () => fetch(`${node.httpUrl}/metrics`).then((r) => r.text())
const canonical = (a: ChannelAttributes) =>
  JSON.stringify(Object.entries(a).map(([k, v]) => [k, v.value]).sort(([x], [y]) => (x < y ? -1 : 1)))

describe('resume after the node’s queue for a detached session overflowed', () => {
  it('the resumed member learns that A left and gets the document update it missed', async () => {
    proxy = await startProxy(node.port)
    const a = await loggedIn(node, 'rr-a', { directLinks: false })
    const chA = a.createChannel('rr-room')
    await chA.join()
    const c = await loggedIn(node, 'rr-c', { directLinks: false, rendezvousUrl: proxy.url, loginTimeoutMs: 1000 })
    const chC = c.createChannel('rr-room')
    const left: string[] = []
    chC.on('MemberLeft', (uid) => left.push(uid))
    await chC.join()

    // A raw member that will flood the channel with awareness updates (forwarded, not stored).
    const flooder = await RawClient.open(node.url)
    await flooder.login('rr-f', await node.token('rr-f'))
    const flooderIn = waitForEvent(chC, 'MemberJoined', (uid) => uid === 'rr-f')
    flooder.send({ type: FrameType.JOIN_CHANNEL, reqId: 1, channel: 'rr-room' })
    await flooder.next((f) => f.type === FrameType.MEMBERS)
    await flooderIn

    // C's connection drops and it cannot get back for now: the node keeps its session, detached.
    const detached = waitForEvent(c, 'ConnectionStateChanged', (s) => s === ConnectionState.RECONNECTING, 5000)
    proxy.blackhole(true)
    proxy.cut()
    await detached

    // More than 4096 frames for C's session...
    const doc = new Y.Doc()
    const awareness = new awarenessProtocol.Awareness(doc)
    try {
      const N = 4200
      for (let i = 0; i < N; i++) {
        awareness.setLocalState({ uid: 'rr-f', n: i })
        const payload = awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID])
        flooder.send({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: i === N - 1 ? 2 : 0, channel: 'rr-room', epoch: 0, kind: SyncKind.AWARENESS, notify: false, payload })
      }
      expect(await flooder.next((f) => f.type === FrameType.RESULT && f.reqId === 2, 15_000)).toMatchObject({ code: 0 })
    } finally {
      awareness.destroy()
    }
    // ...then a document update and A's leaving, both for C's full queue.
    await a.addOrUpdateChannelAttributes('rr-room', { topic: 'while you were away' }, { enableNotificationToChannelMembers: true })
    await chA.leave()

    // C comes back in time and resumes its session.
    const resumes = () => metricText().then((t) => Number(/^plaza_logins_total\{result="RESUMED"\} (\d+)/m.exec(t)?.[1] ?? 0))
    const resumesBefore = await resumes()
    const resumed = waitForEvent(c, 'ConnectionStateChanged', (s) => s === ConnectionState.CONNECTED, 10_000)
    proxy.blackhole(false)
    await resumed
    expect(await resumes(), 'C resumed its session').toBe(resumesBefore + 1)

    const reader = await loggedIn(node, 'rr-reader', { directLinks: false })
    const nodeView = canonical(await reader.getChannelAttributes('rr-room'))
    expect(nodeView).toContain('while you were away')
    // Convergence takes a moment after the resume: wait for it, up to 10 s, then look.
    await until(() => left.includes('rr-a'), 10_000, 'MemberLeft(rr-a) at C').catch(() => undefined)
    await until(() => canonical(chC.attributes()) === nodeView, 10_000, 'C’s attributes to converge').catch(() => undefined)
    expect.soft(left, 'C was told that A left').toContain('rr-a')
    expect(canonical(chC.attributes()), 'C’s attributes equal the node’s').toBe(nodeView)
    flooder.close()
  })
})
