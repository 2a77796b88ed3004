import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ErrorCode, PeerOnlineState } from '@plaza/protocol'
import type { Engine, EngineSink, SessionCommand } from '../src/engine/engine.js'

/** What a node's sink was handed, in order. */
export class RecordingSink implements EngineSink {
  readonly frames: { sessionId: string; text: string }[] = []
  readonly commands: { sessionId: string; cmd: SessionCommand }[] = []
  frame(sessionId: string, frame: Uint8Array): void {
    this.frames.push({ sessionId, text: new TextDecoder().decode(frame) })
  }
  command(sessionId: string, cmd: SessionCommand): void {
    this.commands.push({ sessionId, cmd })
  }
  readonly orphans: unknown[] = []
  async orphaned(o: unknown): Promise<void> {
    this.orphans.push(o)
  }
  readonly nodeMessages: string[] = []
  nodeMessage(message: Uint8Array): void {
    this.nodeMessages.push(new TextDecoder().decode(message))
  }
  textsFor(sessionId: string): string[] {
    return this.frames.filter((f) => f.sessionId === sessionId).map((f) => f.text)
  }
}

/** A deployment under test: `nodes` engines sharing one state, each with its sink. */
export interface EngineFixture {
  engines: Engine[]
  sinks: RecordingSink[]
  close(): Promise<void>
}

const bytes = (s: string) => new TextEncoder().encode(s)
const APP = 'app'

/** Waits for `cond` (an engine for many nodes hands frames over asynchronously). */
async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/**
 * The Engine contract (engine.ts), one suite for every engine. `open(n)` gives a deployment of
 * `n` nodes; an engine for one node only is asked for one, and the cross-node cases are skipped
 * by the caller passing `maxNodes: 1`.
 */
export function engineContract(name: string, open: (nodes: number) => Promise<EngineFixture>, maxNodes: number): void {
  describe(`the Engine contract: ${name}`, () => {
    let fx: EngineFixture
    // With two nodes, "a" lives on the first and "b" on the last: every case crosses nodes.
    const nodes = Math.min(2, maxNodes)
    const A = 0
    const B = nodes - 1
    beforeEach(async () => {
      fx = await open(nodes)
    })
    afterEach(async () => {
      await fx.close()
    })

    it('keeps one session per uid: a newer one ends the older with REMOTE_LOGIN, wherever it is', async () => {
      const [ea, eb] = [fx.engines[A], fx.engines[B]]
      expect(await ea.register(APP, 'u', 's1', '10.0.0.1')).toBeNull()
      expect((await eb.session(APP, 'u'))?.sessionId).toBe('s1')
      const older = await eb.register(APP, 'u', 's2', '10.0.0.2')
      expect(older).toMatchObject({ sessionId: 's1', presence: PeerOnlineState.ONLINE, address: '10.0.0.1' })
      await until(() => fx.sinks[A].commands.length === 1, 'the older session told to end')
      expect(fx.sinks[A].commands[0]).toEqual({ sessionId: 's1', cmd: { kind: 'end', code: ErrorCode.REMOTE_LOGIN, message: expect.any(String) } })
      // The older one's end does not take the newer one away.
      expect(await ea.unregister(APP, 'u', 's1')).toBe(false)
      expect((await ea.session(APP, 'u'))?.sessionId).toBe('s2')
      expect(await eb.unregister(APP, 'u', 's2')).toBe(true)
      expect(await ea.session(APP, 'u')).toBeNull()
    })

    it('tells presence: OFFLINE, ONLINE, UNREACHABLE; a stale session id changes nothing', async () => {
      const [ea, eb] = [fx.engines[A], fx.engines[B]]
      expect(await eb.presenceOf(APP, ['u', 'v'])).toEqual([PeerOnlineState.OFFLINE, PeerOnlineState.OFFLINE])
      await ea.register(APP, 'u', 's1', '')
      expect(await eb.presenceOf(APP, ['u', 'v'])).toEqual([PeerOnlineState.ONLINE, PeerOnlineState.OFFLINE])
      await ea.setPresence(APP, 'u', 's1', PeerOnlineState.UNREACHABLE)
      expect(await eb.presenceOf(APP, ['u'])).toEqual([PeerOnlineState.UNREACHABLE])
      await ea.setPresence(APP, 'u', 'not-s1', PeerOnlineState.ONLINE)
      expect(await eb.presenceOf(APP, ['u'])).toEqual([PeerOnlineState.UNREACHABLE])
      expect(await eb.presenceOf('other-app', ['u'])).toEqual([PeerOnlineState.OFFLINE])
    })

    it('delivers frames and commands to a uid’s session, in the order they were issued; false for none', async () => {
      const [ea, eb] = [fx.engines[A], fx.engines[B]]
      await eb.register(APP, 'v', 'sv', '')
      expect(await ea.deliver(APP, 'nobody', bytes('x'))).toBe(false)
      expect(await ea.command(APP, 'nobody', { kind: 'offline' })).toBe(false)
      // Not awaited one by one: order still holds.
      const sent = await Promise.all(Array.from({ length: 200 }, (_, i) => ea.deliver(APP, 'v', bytes(`m${i}`))))
      expect(sent.every(Boolean)).toBe(true)
      expect(await ea.command(APP, 'v', { kind: 'leave', channel: 'c' })).toBe(true)
      await until(() => fx.sinks[B].textsFor('sv').length === 200 && fx.sinks[B].commands.length === 1, 'frames and command')
      expect(fx.sinks[B].textsFor('sv')).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`))
      expect(fx.sinks[B].commands[0]).toEqual({ sessionId: 'sv', cmd: { kind: 'leave', channel: 'c' } })
    })

    it('delivers only to a connected session when asked: away while its connection is down or it is UNREACHABLE', async () => {
      const [ea, eb] = [fx.engines[A], fx.engines[B]]
      expect(await ea.deliverIfConnected(APP, 'nobody', bytes('x'))).toBe('none')
      await eb.register(APP, 'w', 'sw', '')
      expect(await ea.deliverIfConnected(APP, 'w', bytes('1'))).toBe('delivered')
      await eb.setConnected(APP, 'w', 'sw', false)
      expect(await ea.deliverIfConnected(APP, 'w', bytes('2'))).toBe('away')
      // Plain delivery still reaches it (queued by its node for a resume).
      expect(await ea.deliver(APP, 'w', bytes('3'))).toBe(true)
      // Another session's word does not count.
      await eb.setConnected(APP, 'w', 'not-sw', true)
      expect(await ea.deliverIfConnected(APP, 'w', bytes('4'))).toBe('away')
      await eb.setConnected(APP, 'w', 'sw', true)
      expect(await ea.deliverIfConnected(APP, 'w', bytes('5'))).toBe('delivered')
      await eb.setPresence(APP, 'w', 'sw', PeerOnlineState.UNREACHABLE)
      expect(await ea.deliverIfConnected(APP, 'w', bytes('6'))).toBe('away')
      await eb.setPresence(APP, 'w', 'sw', PeerOnlineState.ONLINE)
      // A new session of the uid starts connected, whatever the old one's state.
      await eb.setConnected(APP, 'w', 'sw', false)
      await eb.register(APP, 'w', 'sw2', '')
      expect(await ea.deliverIfConnected(APP, 'w', bytes('7'))).toBe('delivered')
      await until(() => fx.sinks[B].textsFor('sw2').length === 1, 'frame 7')
      expect(fx.sinks[B].textsFor('sw')).toEqual(['1', '3', '5'])
      expect(fx.sinks[B].textsFor('sw2')).toEqual(['7'])
    })

    it('hands a message for every node to every node', async () => {
      await fx.engines[A].toNodes(bytes('to all'))
      await until(() => fx.sinks.every((sink) => sink.nodeMessages.length >= 1), 'every node')
      for (const sink of new Set(fx.sinks)) expect(sink.nodeMessages).toEqual(['to all'])
    })

    it('publishes to subscribers on any node until they unsubscribe or their session ends', async () => {
      const [ea, eb] = [fx.engines[A], fx.engines[B]]
      await ea.register(APP, 'u', 'su', '')
      await eb.register(APP, 'w', 'sw', '')
      await ea.subscribe(APP, 'su', 'presence', ['v'])
      await eb.subscribe(APP, 'sw', 'presence', ['v'])
      await ea.subscribe(APP, 'su', 'attributes', ['v'])
      await eb.publish('presence', APP, 'v', bytes('p1'))
      await eb.publish('attributes', APP, 'v', bytes('a1'))
      await until(() => fx.sinks[A].textsFor('su').length === 2 && fx.sinks[B].textsFor('sw').length === 1, 'published frames')
      expect(fx.sinks[A].textsFor('su').sort()).toEqual(['a1', 'p1'])
      await ea.unsubscribe(APP, 'su', 'presence', ['v'])
      await eb.unregister(APP, 'w', 'sw')
      await ea.publish('presence', APP, 'v', bytes('p2'))
      await ea.publish('attributes', APP, 'v', bytes('a2'))
      await until(() => fx.sinks[A].textsFor('su').includes('a2'), 'the attribute change')
      expect(fx.sinks[A].textsFor('su')).not.toContain('p2')
      expect(fx.sinks[B].textsFor('sw')).toEqual(['p1'])
      expect(ea.stats().subscriptions + (nodes > 1 ? eb.stats().subscriptions : 0)).toBeGreaterThanOrEqual(1)
    })

    it('keeps user attributes and contacts with the session, and forgets them when it ends', async () => {
      const [ea, eb] = [fx.engines[A], fx.engines[B]]
      expect(await eb.userAttributes(APP, 'u')).toBeNull()
      await ea.register(APP, 'u', 'su', '')
      await eb.register(APP, 'v', 'sv', '')
      expect(await eb.userAttributes(APP, 'u')).toEqual([])
      const attrs = [{ key: 'k', value: 'v', lastUpdateUserId: '', lastUpdateTs: 5 }]
      await ea.setUserAttributes(APP, 'u', 'su', attrs)
      await ea.setUserAttributes(APP, 'u', 'stale', [])
      expect(await eb.userAttributes(APP, 'u')).toEqual(attrs)
      await ea.noteSent(APP, 'u', 'v')
      expect(await eb.areContacts(APP, 'u', 'v')).toBe(false)
      await eb.noteSent(APP, 'v', 'u')
      expect(await ea.areContacts(APP, 'u', 'v')).toBe(true)
      expect(await ea.areContacts(APP, 'v', 'u')).toBe(true)
      await ea.unregister(APP, 'u', 'su')
      await ea.register(APP, 'u', 'su2', '')
      expect(await eb.userAttributes(APP, 'u')).toEqual([])
      expect(await eb.areContacts(APP, 'u', 'v')).toBe(false)
    })

    it('keeps channel membership across nodes and sends to every member but one', async () => {
      const [ea, eb] = [fx.engines[A], fx.engines[B]]
      await ea.register(APP, 'u', 'su', '')
      await eb.register(APP, 'v', 'sv', '')
      await eb.register(APP, 'w', 'sw', '')
      expect(await ea.joinChannel(APP, 'c', { uid: 'u', sessionId: 'su', role: 'teacher', publishGrant: true })).toBe(1)
      expect(await eb.joinChannel(APP, 'c', { uid: 'v', sessionId: 'sv', role: '', publishGrant: false })).toBe(2)
      expect(await eb.joinChannel(APP, 'c', { uid: 'w', sessionId: 'sw', role: '', publishGrant: true })).toBe(3)
      expect(await ea.channelCount(APP, 'c')).toBe(3)
      expect(await eb.member(APP, 'c', 'u')).toEqual({ uid: 'u', sessionId: 'su', role: 'teacher', publishGrant: true })
      expect(await ea.member(APP, 'c', 'nobody')).toBeNull()
      expect((await ea.channelMembers(APP, 'c')).map((m) => m.uid).sort()).toEqual(['u', 'v', 'w'])
      await ea.sendToChannel(APP, 'c', bytes('hello'), 'u')
      await until(() => fx.sinks[B].frames.length === 2, 'channel frames')
      expect(fx.sinks[B].frames.map((f) => f.sessionId).sort()).toEqual(['sv', 'sw'])
      expect(fx.sinks[A].textsFor('su')).toEqual([])
      // A leave by a session that is not the member's (an older one, ending late) changes nothing.
      expect(await ea.leaveChannel(APP, 'c', 'v', 'not-sv')).toBe(3)
      expect(await eb.leaveChannel(APP, 'c', 'v', 'sv')).toBe(2)
      expect(await ea.leaveChannel(APP, 'c', 'u', 'su')).toBe(1)
      expect(await eb.leaveChannel(APP, 'c', 'w', 'sw')).toBe(0)
      expect(await ea.channelCount(APP, 'c')).toBe(0)
      expect(await ea.channelMembers(APP, 'c')).toEqual([])
      expect(await ea.channelCount('other-app', 'c')).toBe(0)
    })

    it('counts the members outside the overlay across nodes, with a version that only grows, and sends to either side alone', async () => {
      const [ea, eb] = [fx.engines[A], fx.engines[B]]
      for (const [e, uid] of [[ea, 'o1'], [eb, 'o2'], [eb, 'in']] as const) await e.register(APP, uid, `s-${uid}`, '')
      const start = await ea.outsideCount(APP, 'big')
      expect(start.count).toBe(0)
      await ea.joinChannel(APP, 'big', { uid: 'o1', sessionId: 's-o1', role: '', publishGrant: true, outside: true })
      await eb.joinChannel(APP, 'big', { uid: 'o2', sessionId: 's-o2', role: '', publishGrant: true, outside: true })
      await eb.joinChannel(APP, 'big', { uid: 'in', sessionId: 's-in', role: '', publishGrant: true })
      const two = await eb.outsideCount(APP, 'big')
      expect(two.count).toBe(2)
      expect(two.version).toBeGreaterThan(start.version)
      // At least the clock in µs: a restart that lost the counter cannot make it go back.
      expect(two.version).toBeGreaterThan((Date.now() - 3_600_000) * 1000)
      expect(await ea.member(APP, 'big', 'o1')).toEqual({ uid: 'o1', sessionId: 's-o1', role: '', publishGrant: true, outside: true })
      expect(await ea.member(APP, 'big', 'in')).toEqual({ uid: 'in', sessionId: 's-in', role: '', publishGrant: true })
      const before = [fx.sinks[A].frames.length, fx.sinks[B].frames.length]
      await ea.sendToChannel(APP, 'big', bytes('to-outside'), 'o1', 'outside')
      await ea.sendToChannel(APP, 'big', bytes('to-overlay'), undefined, 'overlay')
      await until(() => fx.sinks[B].frames.length === before[1]! + 2, 'audience frames')
      expect(fx.sinks[B].textsFor('s-o2')).toContain('to-outside')
      expect(fx.sinks[B].textsFor('s-in')).toEqual(['to-overlay'])
      expect(fx.sinks[A].textsFor('s-o1')).not.toContain('to-outside')
      expect(fx.sinks[A].textsFor('s-o1')).not.toContain('to-overlay')
      // A stale leave changes nothing; a newer session of an outside member that joins with a key is inside.
      await ea.leaveChannel(APP, 'big', 'o1', 'not-s-o1')
      expect((await ea.outsideCount(APP, 'big')).count).toBe(2)
      await eb.register(APP, 'o2', 's-o2b', '')
      await eb.joinChannel(APP, 'big', { uid: 'o2', sessionId: 's-o2b', role: '', publishGrant: true })
      const one = await ea.outsideCount(APP, 'big')
      expect(one).toEqual({ count: 1, version: one.version })
      expect(one.version).toBeGreaterThan(two.version)
      await eb.leaveChannel(APP, 'big', 'o2', 's-o2') // the replaced session's leave: not the member any more
      expect((await ea.outsideCount(APP, 'big')).count).toBe(1)
      await ea.leaveChannel(APP, 'big', 'o1', 's-o1')
      const none = await eb.outsideCount(APP, 'big')
      expect(none.count).toBe(0)
      expect(none.version).toBeGreaterThan(one.version)
      await eb.leaveChannel(APP, 'big', 'o2', 's-o2b')
      await eb.leaveChannel(APP, 'big', 'in', 's-in')
      expect(await ea.outsideCount(APP, 'big')).toEqual({ count: 0, version: none.version })
    })
  })
}
