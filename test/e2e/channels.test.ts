import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode, PlazaError, type ChannelAttributes, type PlazaChannel, type PlazaClient } from '@plaza/client'
import { closeClients, loggedIn } from '../helpers/clients.js'
import { startProxy } from '../helpers/proxy.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { until, waitForEvent } from '../helpers/wait.js'

let node: RendezvousProcess
beforeAll(async () => {
  // Quick liveness so that a silenced client notices within ~1.5 s.
  node = await startRendezvous({ args: ['--ping-interval', '500'] })
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeClients())

async function member(uid: string, channelId: string, opts = {}): Promise<{ client: PlazaClient; channel: PlazaChannel }> {
  const client = await loggedIn(node, uid, opts)
  const channel = client.createChannel(channelId)
  await channel.join()
  return { client, channel }
}

async function codeOf(p: Promise<unknown>): Promise<ErrorCode | null> {
  return p.then(
    () => null,
    (e: unknown) => (e instanceof PlazaError ? e.code : null),
  )
}

const values = (a: ChannelAttributes) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v.value]))
/** The attributes with their writers, in key order (replicas may iterate in different orders). */
const canonical = (a: ChannelAttributes) => JSON.stringify(Object.entries(a).sort(([x], [y]) => (x < y ? -1 : 1)))

describe('membership', () => {
  it('tells members who joins and leaves, and answers getMembers', async () => {
    const a = await member('m-a', 'room-m')
    const joined = waitForEvent(a.channel, 'MemberJoined', (uid) => uid === 'm-b')
    const count = waitForEvent(a.channel, 'MemberCountUpdated', (n) => n === 2, 5000)
    const b = await member('m-b', 'room-m')
    await joined
    await count
    expect((await a.channel.getMembers()).sort()).toEqual(['m-a', 'm-b'])
    const left = waitForEvent(a.channel, 'MemberLeft', (uid) => uid === 'm-b')
    await b.channel.leave()
    await left
    expect(await a.client.getChannelMemberCount(['room-m', 'room-nobody'])).toEqual({ 'room-m': 1, 'room-nobody': 0 })
  })

  it('coalesces MemberCountUpdated to at most one a second', async () => {
    const watcher = await member('mc-watch', 'room-mc')
    const counts: number[] = []
    const times: number[] = []
    watcher.channel.on('MemberCountUpdated', (n) => {
      counts.push(n)
      times.push(Date.now())
    })
    await Promise.all(['mc-1', 'mc-2', 'mc-3', 'mc-4', 'mc-5'].map((u) => member(u, 'room-mc')))
    await until(() => counts.at(-1) === 6, 10_000, 'count of 6')
    // Sent a second apart; arrival may jitter by a little.
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThan(800)
  })

  it('refuses a second join, a leave when not joined, and more than 20 channels', async () => {
    const { client, channel } = await member('m-limits', 'room-l0')
    expect(await codeOf(channel.join())).toBe(ErrorCode.ALREADY_IN_CHANNEL)
    expect(await codeOf(client.createChannel('room-never').leave())).toBe(ErrorCode.NOT_IN_CHANNEL)
    for (let i = 1; i < 20; i++) await client.createChannel(`room-l${i}`).join()
    expect(await codeOf(client.createChannel('room-l20').join())).toBe(ErrorCode.TOO_MANY_CHANNELS)
    expect(() => client.createChannel('')).toThrow(PlazaError)
  })

  it('answers TOO_OFTEN to a third join of one channel within 5 s', async () => {
    const client = await loggedIn(node, 'm-rejoin')
    const ch = client.createChannel('room-rejoin')
    await ch.join()
    await ch.leave()
    await ch.join()
    await ch.leave()
    expect(await codeOf(ch.join())).toBe(ErrorCode.TOO_OFTEN)
    expect(await codeOf(client.getChannelMemberCount(['room-rejoin']))).toBe(null)
    expect(await codeOf(client.getChannelMemberCount(['room-rejoin']))).toBe(ErrorCode.TOO_OFTEN)
  })
})

describe('channel messages', () => {
  it('reach every other member exactly once and in order; the sender does not get its own', async () => {
    const a = await member('c-a', 'room-c')
    const b = await member('c-b', 'room-c')
    const c = await member('c-c', 'room-c')
    const got = new Map<string, string[]>()
    for (const m of [a, b, c]) {
      got.set(m.client.uid, [])
      m.channel.on('ChannelMessage', (msg, from) => got.get(m.client.uid)!.push(`${from}:${msg.messageType === 'TEXT' ? msg.text : ''}`))
    }
    for (let i = 0; i < 50; i++) {
      await a.channel.sendMessage({ text: `a${i}` })
      await b.channel.sendMessage({ text: `b${i}` })
    }
    await until(() => got.get('c-c')!.length === 100 && got.get('c-a')!.length === 50 && got.get('c-b')!.length === 50, 20_000, 'all messages')
    const from = (uid: string, who: string) => got.get(uid)!.filter((m) => m.startsWith(`${who}:`)).map((m) => m.split(':')[1])
    const seq = (p: string) => Array.from({ length: 50 }, (_, i) => `${p}${i}`)
    expect(from('c-c', 'c-a')).toEqual(seq('a'))
    expect(from('c-c', 'c-b')).toEqual(seq('b'))
    expect(from('c-b', 'c-a')).toEqual(seq('a'))
    expect(from('c-a', 'c-b')).toEqual(seq('b'))
    expect(from('c-a', 'c-a')).toEqual([])
  })

  it('still reaches a member whose direct links cannot be built, through the relay', async () => {
    const noIce = { rtcConfig: { iceServers: [], iceTransportPolicy: 'relay' as const }, linkConnectTimeoutMs: 1000 }
    const a = await member('r-a', 'room-r')
    const blocked = await member('r-blocked', 'room-r', noIce)
    const got: string[] = []
    blocked.channel.on('ChannelMessage', (m) => got.push(m.messageType === 'TEXT' ? m.text : ''))
    const back: string[] = []
    a.channel.on('ChannelMessage', (m) => back.push(m.messageType === 'TEXT' ? m.text : ''))
    for (let i = 0; i < 10; i++) await a.channel.sendMessage({ text: `to blocked ${i}` })
    await blocked.channel.sendMessage({ text: 'from blocked' })
    await until(() => got.length === 10 && back.length === 1, 15_000, 'relay delivery')
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `to blocked ${i}`))
    expect(blocked.client.getPeerLinkState('r-a')).not.toBe('open')
  })

  it('gives a member who reconnects the channel messages it missed, each exactly once', async () => {
    const proxy = await startProxy(node.port)
    try {
      const a = await member('rc-a', 'room-rc', { directLinks: false })
      const b = await member('rc-b', 'room-rc', { directLinks: false, rendezvousUrl: proxy.url, loginTimeoutMs: 1000 })
      const got: string[] = []
      b.channel.on('ChannelMessage', (m) => got.push(m.messageType === 'TEXT' ? m.text : ''))
      expect(await a.channel.sendMessage({ text: 'before' })).toEqual({ members: 1, received: 1, failures: [], unconfirmed: 0 })
      await until(() => got.length === 1, 5000, 'first message')
      const reconnecting = waitForEvent(b.client, 'ConnectionStateChanged', (s) => s === 'RECONNECTING', 10_000)
      proxy.blackhole(true)
      // Not awaited: each resolves once its copy is confirmed (or after 10 s), and they stay in order.
      const missed = Array.from({ length: 10 }, (_, i) => a.channel.sendMessage({ text: `missed ${i}` }))
      await reconnecting
      const back = waitForEvent(b.client, 'ConnectionStateChanged', (s) => s === 'CONNECTED', 10_000)
      proxy.blackhole(false)
      proxy.cut()
      await back
      await until(() => got.length >= 11, 10_000, 'missed messages')
      expect(got).toEqual(['before', ...Array.from({ length: 10 }, (_, i) => `missed ${i}`)])
      // Each either confirmed, or not confirmed within 10 s (SENT_TIMEOUT) and delivered later: never a failure.
      for (const r of await Promise.all(missed)) expect(r.failures.every((f) => f.state === 'SENT_TIMEOUT')).toBe(true)
    } finally {
      await proxy.close()
    }
  })

  it('refuses messages when not joined and oversize messages', async () => {
    const { client, channel } = await member('c-x', 'room-x')
    expect(await codeOf(client.createChannel('room-y').sendMessage({ text: 'hi' }))).toBe(ErrorCode.NOT_IN_CHANNEL)
    expect(await codeOf(channel.sendMessage({ text: 'x'.repeat(32 * 1024 + 1) }))).toBe(ErrorCode.INVALID_MESSAGE)
  })
})

describe('channel attributes', () => {
  it('converge on all members and the node after concurrent writes by three members', async () => {
    const ms = await Promise.all(['at-a', 'at-b', 'at-c'].map((u) => member(u, 'room-at')))
    await Promise.all(
      ms.map((m, i) =>
        m.client.addOrUpdateChannelAttributes('room-at', { shared: `from ${m.client.uid}`, [`own-${i}`]: String(i) }, { enableNotificationToChannelMembers: true }),
      ),
    )
    const outsider = await loggedIn(node, 'at-outsider')
    const expectConverged = async () => {
      const all = await Promise.all(ms.map((m) => m.client.getChannelAttributes('room-at')))
      const onNode = await outsider.getChannelAttributes('room-at')
      return [...all, onNode].every((a) => canonical(a) === canonical(onNode)) && Object.keys(onNode).length === 4
    }
    await until(expectConverged, 10_000, 'convergence')
    const final = await outsider.getChannelAttributes('room-at')
    expect(Object.keys(final).sort()).toEqual(['own-0', 'own-1', 'own-2', 'shared'])
    expect(final['own-1']).toMatchObject({ value: '1', lastUpdateUserId: 'at-b' })
    expect(final.shared.value).toBe(`from ${final.shared.lastUpdateUserId}`)
  })

  it('notifies members with AttributesUpdated only when asked to', async () => {
    const a = await member('n-a', 'room-n')
    const b = await member('n-b', 'room-n')
    let events = 0
    b.channel.on('AttributesUpdated', () => events++)
    await a.client.addOrUpdateChannelAttributes('room-n', { quiet: '1' })
    await until(async () => (await b.client.getChannelAttributes('room-n')).quiet?.value === '1', 5000, 'quiet write')
    expect(events).toBe(0)
    const notified = waitForEvent<[ChannelAttributes]>(b.channel, 'AttributesUpdated')
    await a.client.addOrUpdateChannelAttributes('room-n', { loud: '2' }, { enableNotificationToChannelMembers: true })
    const [attrs] = await notified
    expect(values(attrs)).toEqual({ quiet: '1', loud: '2' })
  })

  it('lets a non-member read and write, with members told', async () => {
    const a = await member('nm-a', 'room-nm')
    const outsider = await loggedIn(node, 'nm-out')
    const told = waitForEvent<[ChannelAttributes]>(a.channel, 'AttributesUpdated')
    await outsider.setChannelAttributes('room-nm', { board: 'hello' }, { enableNotificationToChannelMembers: true })
    expect(values((await told)[0])).toEqual({ board: 'hello' })
    expect(await outsider.getChannelAttributesByKeys('room-nm', ['board', 'missing'])).toEqual({
      board: { value: 'hello', lastUpdateUserId: 'nm-out', lastUpdateTs: expect.any(Number) },
    })
    await outsider.deleteChannelAttributesByKeys('room-nm', ['board'])
    await until(async () => Object.keys(await a.client.getChannelAttributes('room-nm')).length === 0, 5000, 'delete to reach the member')
  })

  it('survive all members leaving and a rendezvous restart, and reach a late joiner', async () => {
    const own = await startRendezvous()
    try {
      const a = await loggedIn(own, 'sv-a')
      const ch = a.createChannel('room-sv')
      await ch.join()
      await a.setChannelAttributes('room-sv', { slide: '7', notice: 'exam friday' })
      await ch.leave()
      await a.logout()
      await own.kill()
      await own.restart()
      const late = await loggedIn(own, 'sv-late', { directLinks: false })
      const lch = late.createChannel('room-sv')
      await lch.join()
      expect(values(await late.getChannelAttributes('room-sv'))).toEqual({ slide: '7', notice: 'exam friday' })
    } finally {
      await stopRendezvous(own)
    }
  })

  it('refuses writes past the limits with codes, changing nothing', async () => {
    const a = await member('lim-a', 'room-lim')
    const outsider = await loggedIn(node, 'lim-out')
    const big = 'x'.repeat(8 * 1024 + 1)
    for (const c of [a.client, outsider]) {
      expect(await codeOf(c.addOrUpdateChannelAttributes('room-lim', { k: big }))).toBe(ErrorCode.ATTRIBUTES_TOO_LARGE)
      expect(await codeOf(c.addOrUpdateChannelAttributes('room-lim', { ['k'.repeat(33)]: 'v' }))).toBe(ErrorCode.INVALID_ATTRIBUTE_KEY)
      const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']))
      expect(await codeOf(c.setChannelAttributes('room-lim', many))).toBe(ErrorCode.ATTRIBUTES_TOO_LARGE)
      const heavy = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`h${i}`, 'x'.repeat(8000)]))
      expect(await codeOf(c.setChannelAttributes('room-lim', heavy))).toBe(ErrorCode.ATTRIBUTES_TOO_LARGE)
    }
    expect(await outsider.getChannelAttributes('room-lim')).toEqual({})
  })

  it('answers TOO_OFTEN past 100 attribute writes in 5 s', async () => {
    const outsider = await loggedIn(node, 'rate-out')
    const results = await Promise.all(
      Array.from({ length: 110 }, (_, i) => codeOf(outsider.addOrUpdateChannelAttributes('room-rate', { k: String(i) }))),
    )
    expect(results.filter((c) => c === ErrorCode.TOO_OFTEN).length).toBeGreaterThanOrEqual(5)
    expect(results.filter((c) => c === null).length).toBeGreaterThanOrEqual(90)
  })
})

describe('user attributes', () => {
  it('sets, reads, updates, deletes; others follow the changes; gone at logout', async () => {
    const alice = await loggedIn(node, 'ua-alice')
    const bob = await loggedIn(node, 'ua-bob')
    const seen: Record<string, string>[] = []
    bob.on('UserAttributesUpdated', (uid, attrs) => uid === 'ua-alice' && seen.push(attrs))
    await bob.subscribeUserAttributes(['ua-alice'])
    await alice.setLocalUserAttributes({ role: 'teacher', hand: 'down' })
    await alice.addOrUpdateLocalUserAttributes({ hand: 'up' })
    expect(await bob.getUserAttributes('ua-alice')).toEqual({ role: 'teacher', hand: 'up' })
    expect(await bob.getUserAttributesByKeys('ua-alice', ['hand'])).toEqual({ hand: 'up' })
    await alice.deleteLocalUserAttributesByKeys(['hand'])
    expect(await bob.getUserAttributes('ua-alice')).toEqual({ role: 'teacher' })
    await until(() => seen.length >= 4, 5000, 'attribute events')
    expect(seen.slice(0, 4)).toEqual([{}, { role: 'teacher', hand: 'down' }, { role: 'teacher', hand: 'up' }, { role: 'teacher' }])
    const cleared = waitForEvent(bob, 'UserAttributesUpdated', (uid, attrs) => uid === 'ua-alice' && Object.keys(attrs as object).length === 0)
    await alice.logout()
    await cleared
    expect(await codeOf(bob.getUserAttributes('ua-alice'))).toBe(ErrorCode.PEER_OFFLINE)
  })

  it('restores them after the node forgot the session', async () => {
    const own = await startRendezvous()
    try {
      const alice = await loggedIn(own, 'ur-alice', { directLinks: false })
      await alice.setLocalUserAttributes({ role: 'student' })
      const ch = alice.createChannel('room-ur')
      await ch.join()
      const back = waitForEvent(alice, 'ConnectionStateChanged', (s) => s === 'CONNECTED', 20_000)
      await own.kill()
      await own.restart()
      await back
      const bob = await loggedIn(own, 'ur-bob', { directLinks: false })
      await until(async () => (await bob.getUserAttributes('ur-alice').catch((): Record<string, string> => ({}))).role === 'student', 5000, 'restored attributes')
      await until(async () => (await bob.getChannelMemberCount(['room-ur']))['room-ur'] === 1, 5000, 'rejoined channel')
    } finally {
      await stopRendezvous(own)
    }
  })

  it('refuses user attributes past 16 KB in all', async () => {
    const alice = await loggedIn(node, 'ul-alice')
    const heavy = Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`h${i}`, 'x'.repeat(6000)]))
    expect(await codeOf(alice.setLocalUserAttributes(heavy))).toBe(ErrorCode.ATTRIBUTES_TOO_LARGE)
  })
})
