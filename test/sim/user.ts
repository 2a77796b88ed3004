/**
 * One user of the simulation: a client page (a real PlazaClient) that comes and goes (crashes,
 * reloads, logouts) over storage that stays, and an app on it that sends, joins, writes and
 * invites at random, logging everything it sees.
 */
import {
  ConnectionState,
  PlazaClient,
  PlazaError,
  type LocalInvitation,
  type PlazaChannel,
  type MediaMessage,
  type RemoteInvitation,
  type Runtime,
} from '@plaza/client'
import type { OverlayCrypto } from '@plaza/client/overlay'
import { createHash } from 'node:crypto'
import type { Prng } from './prng.js'
import { Domain, type Scheduler } from './scheduler.js'
import type { SimNetwork, SimUserNet } from './network.js'
import { SimClientStorage } from './store.js'
import type { MediaDownload, SimLog } from './log.js'
import { keyFromSeed, simCrypto } from './overlay/crypto.js'

export const APP = 'sim'
const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
/** node:crypto's SHA-256 for the clients' media: synchronous like the JavaScript one virtual time would pick, and many times faster (that one took a third of a soak). */
const fastSha256 = () => {
  const h = createHash('sha256')
  return { update: (b: Uint8Array) => void h.update(b), digest: () => new Uint8Array(h.digest()) }
}
export const tokenOf = (uid: string) => `sim.${uid}`

/** The app's view of a channel, from its events: what it would show. */
interface ChannelView {
  channel: PlazaChannel
  /** Members after join (getMembers) and the events since; null until known. */
  members: Set<string> | null
}

/** One page load: a client and what the app holds of it. */
export interface Instance {
  n: number
  domain: Domain
  net: SimUserNet
  client: PlazaClient
  channels: Map<string, ChannelView>
  /** Logged out (on purpose) since: sends of a new epoch are a new stream. */
  epoch: number
  loggedOut: boolean
  presence: Map<string, string>
  outgoing: LocalInvitation[]
  incoming: RemoteInvitation[]
  /** A join or leave is under way for these channels. */
  busy: Set<string>
  /** The app follows the others' presence (its request went through). */
  subscribed: boolean
}

export interface UserWorld {
  sched: Scheduler
  net: SimNetwork
  log: SimLog
  users: SimUser[]
  channels: string[]
  /** False once the world heals: the app stops doing new things. */
  active: boolean
  /** Channels run their overlay above this many members (null: no overlay keys, copies only). */
  overlayThreshold: number | null
  /** Users kept out of the channels for now (a swing of the member count: see World.swing). */
  swungOut: ReadonlySet<string>
}

export class SimUser {
  readonly storage = new SimClientStorage()
  instance: Instance | null = null
  private instances = 0
  private sendCount = 0
  private mediaCount = 0
  private channelCount = 0
  /** Channels the app means to be in (it joins them again after a reload). */
  readonly wants = new Set<string>()

  constructor(
    readonly uid: string,
    private readonly w: UserWorld,
    private readonly prng: Prng,
  ) {}

  /** A new page: a fresh client over the same storage, which logs in and joins what the app wants. */
  start(): void {
    const w = this.w
    const n = ++this.instances
    const domain = new Domain(`${this.uid}#${n}`)
    const net = w.net.user(this.uid, domain)
    const rng = this.prng.fork()
    const runtime: Runtime = { clock: w.sched.clock(domain), random: () => rng.next(), randomId: () => rng.id(), virtualTime: true, overlayKeys: () => this.overlayKeys(domain, rng) }
    const client = new PlazaClient(
      APP,
      {
        ...(w.overlayThreshold !== null ? { overlayThreshold: w.overlayThreshold } : {}),
        rendezvousUrl: 'ws://sim',
        WebSocket: net.WebSocket(),
        storage: this.storage.forPage(w.sched, domain, rng),
        reconnectMinMs: 300,
        reconnectMaxMs: 4000,
      },
      { runtime, createLink: net.createLink(), sha256: fastSha256 },
    )
    const inst: Instance = { n, domain, net, client, channels: new Map(), epoch: 0, loggedOut: false, presence: new Map(), outgoing: [], incoming: [], busy: new Set(), subscribed: false }
    this.instance = inst
    this.wire(inst)
    w.log.note(`${this.uid}#${n} starts`)
    void this.login(inst)
    // The app's own pace of doing things.
    const act = () => {
      if (w.active && this.instance === inst) this.act(inst)
      // An app whose requests failed asks again.
      if (!inst.subscribed && !inst.loggedOut && inst.client.connectionState === ConnectionState.CONNECTED) this.subscribe(inst)
      for (const view of inst.channels.values()) {
        if (view.channel.joined && view.members === null && !inst.busy.has(view.channel.channelId)) void this.refreshMembers(inst, view.channel.channelId)
      }
      w.sched.at(domain, rng.int(100, 1200), act)
    }
    w.sched.at(domain, rng.int(100, 1200), act)
  }

  /**
   * A page's overlay key, from the simulation's randomness (null: overlays off). Signing takes
   * 0–40 ms of virtual time, as WebCrypto's does not come back at once: a page sends on while its
   * overlay messages are being signed (and the channel may switch meanwhile).
   */
  private overlayKeys(domain: Domain, rng: Prng): { publicKey: Uint8Array; crypto: OverlayCrypto } | null {
    if (this.w.overlayThreshold === null) return null
    const seed = new Uint8Array(32)
    for (let i = 0; i < 32; i++) seed[i] = rng.int(0, 255)
    const key = keyFromSeed(seed)
    const crypto = simCrypto(key)
    const sched = this.w.sched
    return {
      publicKey: key.publicKey,
      crypto: {
        verify: crypto.verify,
        sign: (data) => {
          const sig = crypto.sign(data) as Uint8Array
          return new Promise<Uint8Array>((resolve) => sched.at(domain, rng.int(0, 40), () => resolve(sig)))
        },
      },
    }
  }

  /** The app leaves every channel (a swing of the member count: see World.swing). */
  swingOut(): void {
    const inst = this.instance
    this.wants.clear()
    if (inst) for (const id of this.w.channels) void this.leave(inst, id)
  }

  /** Back in every channel after a swing. */
  swingBack(): void {
    for (const id of this.w.channels) this.wants.add(id)
    const inst = this.instance
    if (inst && !inst.loggedOut) for (const id of this.w.channels) void this.join(inst, id)
  }

  /** `count` channel messages, one every `everyMs`, not awaited (a chat's burst around a switch). */
  burst(count: number, everyMs: number): void {
    const inst = this.instance
    if (!inst || count <= 0) return
    const view = [...inst.channels.values()].find((v) => v.channel.joined)
    if (view && this.instance === inst && !inst.loggedOut) this.sendChannel(inst, view)
    this.w.sched.at(inst.domain, everyMs, () => this.burst(count - 1, everyMs))
  }

  /**
   * The page dies: `crash` loses storage writes in flight (a kill); otherwise the app flushes
   * its storage on the way out (a reload with a pagehide handler, as the demo does).
   */
  async stop(crash: boolean, nodeHearsClose: boolean): Promise<void> {
    const inst = this.instance
    if (!inst) return
    this.instance = null
    if (!crash) await inst.client.flushStorage()
    this.w.log.note(`${this.uid}#${inst.n} ${crash ? 'crashes' : 'goes away'}`)
    this.w.log.ends.push({ uid: this.uid, instance: inst.n, at: this.w.sched.now, crash })
    this.w.log.left(this.uid, inst.n)
    inst.domain.kill()
    inst.net.gone(nodeHearsClose)
  }

  /** Logs in, retrying like an offline-first app; then joins and subscribes. */
  async login(inst: Instance): Promise<void> {
    const w = this.w
    for (let attempt = 0; this.instance === inst; attempt++) {
      try {
        await inst.client.login({ uid: this.uid, token: tokenOf(this.uid) })
        break
      } catch {
        await new Promise<void>((r) => w.sched.at(inst.domain, Math.min(5000, 300 * 2 ** attempt), r))
      }
    }
    if (this.instance !== inst) return
    inst.loggedOut = false
    this.subscribe(inst)
    for (const ch of this.wants) void this.join(inst, ch)
  }

  /** Follows the others' presence; an app whose request failed tries again later. */
  private subscribe(inst: Instance): void {
    const others = this.w.users.filter((u) => u !== this).map((u) => u.uid)
    inst.client.subscribePeersOnlineStatus(others).then(
      () => (inst.subscribed = true),
      () => undefined,
    )
  }

  async logout(): Promise<void> {
    const inst = this.instance
    if (!inst || inst.client.connectionState !== ConnectionState.CONNECTED) return
    this.w.log.note(`${this.uid}#${inst.n} logs out`)
    inst.loggedOut = true
    inst.subscribed = false
    inst.epoch++
    this.w.log.left(this.uid, inst.n)
    await inst.client.logout().catch(() => undefined)
  }

  private wire(inst: Instance): void {
    const { client } = inst
    const log = this.w.log
    client.on('MessageFromPeer', (m, from, props) => {
      const id = m.messageType === 'TEXT' ? m.text : m.messageType === 'FILE' ? m.description : ''
      log.deliveries.push({ id, from, to: this.uid, instance: inst.n, at: this.w.sched.now, path: props.path, channel: '' })
      log.note(`${this.uid}#${inst.n} got ${id} ${props.path}`)
      if (m.messageType === 'FILE' && this.prng.chance(0.8)) this.download(inst, id, m)
    })
    client.on('OfflineMessagesDropped', (from, count) => {
      log.dropNotice(this.uid, from, count)
      log.note(`${this.uid}#${inst.n} told ${count} stored messages from ${from} were dropped`)
    })
    client.on('OutboxMessageSettled', (_peer, m, r) => {
      const s = log.peerSends.get(m.messageType === 'TEXT' ? m.text : '')
      if (s && s.state === undefined) Object.assign(s, { state: r.state, settledAt: this.w.sched.now, restored: true })
    })
    client.on('ConnectionStateChanged', (state, reason) => log.note(`${this.uid}#${inst.n} ${state} ${reason}`))
    client.on('PeersOnlineStatusChanged', (status) => {
      for (const [uid, state] of Object.entries(status)) inst.presence.set(uid, state)
      log.note(`${this.uid}#${inst.n} presence ${JSON.stringify(status)}`)
    })
    client.on('RemoteInvitationReceived', (inv) => {
      inst.incoming.push(inv)
      log.note(`${this.uid}#${inst.n} invited by ${inv.callerId}: ${inv.id}`)
      for (const ev of ['RemoteInvitationAccepted', 'RemoteInvitationRefused', 'RemoteInvitationCanceled', 'RemoteInvitationFailure'] as const) {
        inv.on(ev, (...args: unknown[]) => log.note(`${this.uid}#${inst.n} ${inv.id} ${ev} ${args.join(' ')}`))
      }
      const rng = this.prng
      const r = rng.next()
      const answer = r < 0.4 ? 'accept' : r < 0.7 ? 'refuse' : null
      if (!answer) return
      this.w.sched.at(inst.domain, rng.int(10, 3000), () => {
        if (inv.state !== 'INVITATION_RECEIVED') return
        const p = answer === 'accept' ? inv.accept() : inv.refuse()
        p.catch(() => undefined)
      })
    })
    for (const id of this.w.channels) {
      const channel = client.createChannel(id)
      const view: ChannelView = { channel, members: null }
      inst.channels.set(id, view)
      channel.on('ChannelMessage', (m, from) => {
        const mid = m.messageType === 'TEXT' ? m.text : ''
        log.deliveries.push({ id: mid, from, to: this.uid, instance: inst.n, at: this.w.sched.now, path: '', channel: id })
        log.note(`${this.uid}#${inst.n} got ${mid} in ${id}`)
      })
      channel.on('MemberJoined', (uid) => {
        view.members?.add(uid)
        log.note(`${this.uid}#${inst.n} ${id}: ${uid} joined`)
      })
      channel.on('MemberLeft', (uid) => {
        view.members?.delete(uid)
        log.note(`${this.uid}#${inst.n} ${id}: ${uid} left`)
      })
    }
  }

  private async join(inst: Instance, id: string): Promise<void> {
    const view = inst.channels.get(id)!
    if (view.channel.joined || inst.busy.has(id)) return
    inst.busy.add(id)
    try {
      view.members = null
      await view.channel.join()
      this.w.log.note(`${this.uid}#${inst.n} joined ${id}`)
      this.w.log.joined(this.uid, inst.n, id)
      const list = await view.channel.getMembers()
      view.members = new Set(list.filter((m) => m !== this.uid))
    } catch (err) {
      this.w.log.note(`${this.uid}#${inst.n} join ${id} failed: ${(err as PlazaError).codeName ?? err}`)
    } finally {
      inst.busy.delete(id)
    }
  }

  private async refreshMembers(inst: Instance, id: string): Promise<void> {
    const view = inst.channels.get(id)!
    inst.busy.add(id)
    try {
      const list = await view.channel.getMembers()
      if (view.channel.joined) view.members = new Set(list.filter((m) => m !== this.uid))
    } catch {
      // later
    } finally {
      inst.busy.delete(id)
    }
  }

  private async leave(inst: Instance, id: string): Promise<void> {
    const view = inst.channels.get(id)!
    if (!view.channel.joined || inst.busy.has(id)) return
    inst.busy.add(id)
    this.wants.delete(id)
    this.w.log.left(this.uid, inst.n, id)
    try {
      await view.channel.leave()
    } catch {
      // not connected: left locally; the node ends the membership with the session
    } finally {
      view.members = null
      inst.busy.delete(id)
      this.w.log.note(`${this.uid}#${inst.n} left ${id}`)
    }
  }

  /** Fetches a media message's file; logs whether the bytes are the sender's. */
  private download(inst: Instance, id: string, m: MediaMessage): void {
    const d: MediaDownload = { id, to: this.uid, instance: inst.n, at: this.w.sched.now }
    this.w.log.downloads.push(d)
    inst.client.downloadMedia(m).then(
      async (blob) => {
        d.outcome = sha256Hex(new Uint8Array(await blob.arrayBuffer())) === this.w.log.mediaFiles.get(m.mediaId) ? 'ok' : 'wrong bytes'
        this.w.log.note(`${this.uid}#${inst.n} downloaded ${id}: ${d.outcome}`)
      },
      (err: unknown) => {
        d.outcome = err instanceof PlazaError ? err.codeName : String(err)
        this.w.log.note(`${this.uid}#${inst.n} download of ${id} failed: ${d.outcome}`)
      },
    )
  }

  /** A file of 1 byte to 700 KiB (up to three pieces), from the simulation's randomness. */
  private makeFile(): Uint8Array {
    const size = this.prng.int(1, 700 * 1024)
    // xorshift32 a word at a time (a byte at a time took 3% of a soak).
    const words = new Uint32Array(Math.ceil(size / 4))
    let x = this.prng.int(1, 0x7fffffff)
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      words[i] = x
    }
    return new Uint8Array(words.buffer, 0, size)
  }

  private sendChannel(inst: Instance, view: ChannelView): void {
    const w = this.w
    const id = `c:${this.uid}:${this.channelCount}`
    const send = { id, from: this.uid, instance: inst.n, epoch: inst.epoch, channel: view.channel.channelId, n: this.channelCount++, at: w.sched.now }
    w.log.channelSends.set(id, send)
    w.log.note(`${this.uid}#${inst.n} sends ${id} in ${view.channel.channelId}`)
    view.channel.sendMessage({ text: id }).then(
      (result) => {
        Object.assign(w.log.channelSends.get(id)!, { result, settledAt: w.sched.now })
        w.log.note(`${id}: ${result.unconfirmed > 0 ? 'overlay' : 'copies'} ${JSON.stringify(result)}`)
      },
      (err: unknown) => {
        Object.assign(w.log.channelSends.get(id)!, { error: err instanceof PlazaError ? err.codeName : String(err) })
        w.log.note(`${id}: failed ${err instanceof PlazaError ? err.codeName : String(err)}`)
      },
    )
  }

  /** One random thing an app would do. */
  private act(inst: Instance): void {
    const w = this.w
    const rng = this.prng
    const { client } = inst
    const log = (line: string) => w.log.note(line)
    if (inst.loggedOut) return
    const others = w.users.filter((u) => u !== this)
    const r = rng.next()
    if (r < 0.35) {
      const to = rng.pick(others).uid
      const id = `p:${this.uid}:${this.sendCount}`
      const offline = rng.chance(0.6)
      const send = { id, from: this.uid, instance: inst.n, epoch: inst.epoch, to, offline, n: this.sendCount++, at: w.sched.now }
      w.log.peerSends.set(id, send)
      log(`${this.uid}#${inst.n} sends ${id} to ${to}${offline ? ' (offline ok)' : ''}`)
      void client.sendMessageToPeer({ text: id }, to, { enableOfflineMessaging: offline }).then((res) => {
        const s = w.log.peerSends.get(id)!
        if (s.state === undefined) Object.assign(s, { state: res.state, settledAt: w.sched.now })
        log(`${id}: ${res.state} ${res.path}`)
      })
    } else if (r < 0.55) {
      const joined = [...inst.channels.values()].filter((v) => v.channel.joined)
      if (!joined.length) return
      this.sendChannel(inst, rng.pick(joined))
    } else if (r < 0.63) {
      const id = rng.pick(w.channels)
      if (inst.channels.get(id)!.channel.joined) {
        if (rng.chance(0.4)) void this.leave(inst, id)
      } else if (!w.swungOut.has(this.uid)) {
        this.wants.add(id)
        void this.join(inst, id)
      }
    } else if (r < 0.73) {
      const id = rng.pick(w.channels)
      const key = `k${rng.int(0, 4)}`
      const value = `${this.uid}.${rng.int(0, 1e6)}`
      const del = rng.chance(0.15)
      const how = inst.channels.get(id)!.channel.joined ? 'member' : 'outsider'
      log(`${this.uid}#${inst.n} ${how} writes ${id} ${del ? `-${key}` : `${key}=${value}`}`)
      const p = del ? client.deleteChannelAttributesByKeys(id, [key]) : client.addOrUpdateChannelAttributes(id, { [key]: value }, { enableNotificationToChannelMembers: rng.chance(0.5) })
      p.then(
        () => log(`${this.uid}#${inst.n} write ${id} ${key} ok`),
        (e: unknown) => log(`${this.uid}#${inst.n} write ${id} ${key} failed: ${(e as PlazaError).codeName ?? e}`),
      )
    } else if (r < 0.8) {
      const joined = [...inst.channels.values()].filter((v) => v.channel.joined)
      if (joined.length) rng.pick(joined).channel.awareness.setLocalStateField('n', rng.int(0, 1e6))
    } else if (r < 0.86) {
      if (inst.outgoing.filter((i) => i.state === 'SENT_TO_REMOTE' || i.state === 'RECEIVED_BY_REMOTE').length >= 3) return
      const inv = client.createLocalInvitation(rng.pick(others).uid)
      inv.content = `inv:${this.uid}`
      inst.outgoing.push(inv)
      log(`${this.uid}#${inst.n} invites ${inv.calleeId}: ${inv.id}`)
      for (const ev of ['LocalInvitationReceivedByPeer', 'LocalInvitationAccepted', 'LocalInvitationRefused', 'LocalInvitationCanceled', 'LocalInvitationFailure'] as const) {
        inv.on(ev, (...args: unknown[]) => log(`${this.uid}#${inst.n} ${inv.id} ${ev} ${args.join(' ')}`))
      }
      inv.send().catch(() => undefined)
      if (rng.chance(0.25)) {
        w.sched.at(inst.domain, rng.int(50, 5000), () => {
          if (inv.state === 'SENT_TO_REMOTE' || inv.state === 'RECEIVED_BY_REMOTE') inv.cancel().catch(() => undefined)
        })
      }
    } else if (r < 0.9) {
      // A file, as a peer message: the message goes like any other; the receiver pulls the bytes.
      const to = rng.pick(others).uid
      const id = `m:${this.uid}:${this.mediaCount++}`
      const file = this.makeFile()
      log(`${this.uid}#${inst.n} makes file ${id} (${file.length} bytes) for ${to}`)
      void client.createMediaMessage(file, { messageType: 'FILE', fileName: `${id}.bin`, description: id }).then(
        (msg) => {
          w.log.mediaFiles.set(msg.mediaId, sha256Hex(file))
          // Sent (and counted in this user's send order) only now, and only by a page still alive.
          if (this.instance !== inst || inst.loggedOut) return
          const send = { id, from: this.uid, instance: inst.n, epoch: inst.epoch, to, offline: false, n: this.sendCount++, at: w.sched.now }
          w.log.peerSends.set(id, send)
          log(`${this.uid}#${inst.n} sends file ${id} to ${to}`)
          void client.sendMessageToPeer(msg, to).then((res) => {
            const s = w.log.peerSends.get(id)!
            if (s.state === undefined) Object.assign(s, { state: res.state, settledAt: w.sched.now })
            log(`${id}: ${res.state} ${res.path}`)
          })
        },
        (err: unknown) => log(`${id}: not made: ${err instanceof PlazaError ? err.codeName : err}`),
      )
    }
  }
}
