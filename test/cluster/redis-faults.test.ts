import { execFileSync } from 'node:child_process'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode, PeerMessageState, PlazaError, type PlazaClient, type SendResult } from '@plaza/client'
import { closeClients, linkOpen, loggedIn, makeClient } from '../helpers/clients.js'
import { APP_ID } from '../helpers/rendezvous.js'
import { until } from '../helpers/wait.js'
import { startCluster, type Cluster } from './cluster.js'

// Redis restarted (kill -9, AOF) mid-traffic, and Redis standing still (SIGSTOP) for 10 s.
let cluster: Cluster
beforeAll(async () => {
  cluster = await startCluster(2, ['--link-policy', 'always'])
})
afterAll(() => cluster?.stop())
afterEach(() => closeClients())

const on = (i: number) => cluster.nodes[i]
const readyz = async (i: number) => {
  const res = await fetch(`${on(i).httpUrl}/readyz`)
  return { status: res.status, body: (await res.json()) as { status: string; reason?: string } }
}
const texts = (c: PlazaClient) => {
  const got: string[] = []
  c.on('MessageFromPeer', (m) => got.push(m.messageType === 'TEXT' ? m.text : ''))
  return got
}
const tally = (results: SendResult[]) => {
  const t: Record<string, number> = {}
  for (const r of results) t[r.state] = (t[r.state] ?? 0) + 1
  return t
}

describe('Redis restarted mid-traffic (kill -9, AOF)', () => {
  it('loses nothing acknowledged: relayed messages once and in order, stored ones all handed over', async () => {
    const a = await loggedIn(on(0), 'rf-a', { directLinks: false })
    const b = await loggedIn(on(1), 'rf-b', { directLinks: false })
    const [gotA, gotB] = [texts(a), texts(b)]
    const N = 500
    const relayed: Promise<SendResult>[] = []
    const stored: Promise<SendResult>[] = []
    for (let i = 0; i < N; i++) {
      relayed.push(a.sendMessageToPeer({ text: `a${i}` }, 'rf-b'))
      relayed.push(b.sendMessageToPeer({ text: `b${i}` }, 'rf-a'))
      if (i < 200) stored.push(a.sendMessageToPeer({ text: `o${i}` }, 'rf-c', { enableOfflineMessaging: true }))
    }
    await until(() => gotB.length >= 150, 20_000, '150 through')
    await cluster.redis.restart()
    const r = await Promise.all(relayed)
    const s = await Promise.all(stored)
    console.log(`Redis restarted mid-traffic: relayed ${JSON.stringify(tally(r))}, offline ${JSON.stringify(tally(s))}`)
    // Once each, in order, with no gap before anything confirmed.
    const check = (got: string[], p: string, results: SendResult[]) => {
      expect(new Set(got).size).toBe(got.length)
      expect(got).toEqual(Array.from({ length: got.length }, (_, i) => `${p}${i}`))
      results.forEach((res, i) => {
        if (res.state === PeerMessageState.RECEIVED_BY_PEER) expect(i).toBeLessThan(got.length)
      })
    }
    check(gotB, 'a', r.filter((_, i) => i % 2 === 0))
    check(gotA, 'b', r.filter((_, i) => i % 2 === 1))
    const cached = s.map((res, i) => (res.state === PeerMessageState.CACHED_BY_SERVER ? `o${i}` : null)).filter((x): x is string => x !== null)
    expect(cached.length).toBeGreaterThan(0)
    const storedBefore = execFileSync('redis-cli', ['-p', String(cluster.redis.port), 'zcard', `plaza:oi:${APP_ID.length}:${APP_ID}:rf-c`], { encoding: 'utf8' }).trim()
    // Listening before the login: the stored messages come right behind its answer.
    const c = makeClient(on(1), { directLinks: false })
    const gotC = texts(c)
    await c.login({ uid: 'rf-c', token: await on(1).token('rf-c') })
    try {
      await until(() => gotC.length >= cached.length, 10_000, 'the stored messages')
    } catch (err) {
      const stored = execFileSync('redis-cli', ['-p', String(cluster.redis.port), 'zcard', `plaza:oi:${APP_ID.length}:${APP_ID}:rf-c`], { encoding: 'utf8' }).trim()
      const logs = cluster.nodes.map((n) => n.logs.filter((l) => /offline|redis|error|warn/i.test(l)).slice(-5).join('\n')).join('\n---\n')
      throw new Error(`${(err as Error).message}: ${cached.length} cached, ${storedBefore} in Redis before the login, ${gotC.length} got, ${stored} in Redis after; node logs:\n${logs}`)
    }
    expect(gotC.filter((t) => cached.includes(t))).toEqual(cached)
    expect(new Set(gotC).size).toBe(gotC.length)
  }, 90_000)
})

describe('Redis standing still for 10 s (SIGSTOP)', () => {
  it('nodes say so, direct links keep working, what needs Redis is refused UNAVAILABLE, and all recover', async () => {
    const alice = await loggedIn(on(0), 'rp-alice')
    const bob = await loggedIn(on(1), 'rp-bob')
    await alice.sendMessageToPeer({ text: 'hello' }, 'rp-bob')
    await linkOpen(alice, 'rp-bob')
    const got = texts(bob)
    cluster.redis.pause()
    const pausedAt = Date.now()
    try {
      await until(async () => (await readyz(0)).status === 503 && (await readyz(1)).status === 503, 10_000, '/readyz 503 on both nodes')
      const down = await readyz(0)
      expect(down.body).toMatchObject({ status: 'unavailable', reason: expect.stringMatching(/redis/) })
      // The mesh needs no node: the open link carries messages and their acknowledgements.
      for (let i = 0; i < 20; i++) expect(await alice.sendMessageToPeer({ text: `during ${i}` }, 'rp-bob')).toMatchObject({ state: 'RECEIVED_BY_PEER', path: 'direct' })
      // What needs Redis is refused with a code that says so.
      const joined = await alice
        .createChannel('rp-room')
        .join()
        .then(() => 'OK', (e: PlazaError) => ErrorCode[e.code])
      expect(joined).toBe('UNAVAILABLE')
      // A login is refused with the same code, and leaves no session behind on the node.
      const before = (await readyz(1)).body as unknown as { localSessions: number }
      const late = makeClient(on(1), { directLinks: false })
      const login = await late.login({ uid: 'rp-late', token: await on(1).token('rp-late') }).then(() => 'OK', (e: PlazaError) => ErrorCode[e.code])
      expect(login).toBe('UNAVAILABLE')
      expect(((await readyz(1)).body as unknown as { localSessions: number }).localSessions).toBe(before.localSessions)
      // The fault lasts its full 10 s (it is the scenario, not a wait for something).
      await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - pausedAt))))
      expect((await readyz(1)).status).toBe(503)
    } finally {
      cluster.redis.resume()
    }
    await until(async () => (await readyz(0)).status === 200 && (await readyz(1)).status === 200, 10_000, '/readyz 200 again')
    expect(got.filter((t) => t.startsWith('during'))).toEqual(Array.from({ length: 20 }, (_, i) => `during ${i}`))
    // Everything works again: a join, a relayed message between nodes, a new login.
    await alice.createChannel('rp-room').join()
    const carol = await loggedIn(on(1), 'rp-carol', { directLinks: false })
    expect((await carol.sendMessageToPeer({ text: 'back' }, 'rp-alice')).state).toBe(PeerMessageState.RECEIVED_BY_PEER)
  }, 90_000)
})
