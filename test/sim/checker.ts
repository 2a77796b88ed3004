/**
 * The guarantees, checked after a run once the world has healed and settled. Each returns the
 * violations it finds (empty: the run is clean).
 */
import { PeerMessageState } from '@plaza/client'
import type { ChannelSend, Delivery, PeerSend } from './log.js'
import { APP } from './user.js'
import type { World } from './world.js'

/** Outcomes that claim the receiver's app never got the message. */
const NOT_DELIVERED = new Set<string>([
  PeerMessageState.PEER_UNREACHABLE,
  PeerMessageState.FAILURE,
  PeerMessageState.TOO_OFTEN,
  PeerMessageState.INVALID_USER_ID,
  PeerMessageState.INVALID_MESSAGE,
])
/** Outcomes that say nothing certain (the message may or may not have arrived). */
const UNKNOWN = new Set<string>([PeerMessageState.SENT_TIMEOUT, PeerMessageState.NOT_LOGGED_IN])
/** A page that crashed may deliver again what it got this long before dying (its save was in flight). */
const CRASH_WINDOW_MS = 1000
/**
 * The one limit the README puts on a channel's order across its switch from copies to the
 * overlay: a member's first overlay message waits for the copies of its message before at most
 * this long (channel-send.ts), so a member whose copy took longer (its connection down) may get
 * that copy after the overlay messages that followed it.
 */
const COPIES_FIRST_MS = 5000

export async function check(w: World): Promise<string[]> {
  return [...checkMessages(w), ...checkChannels(w), ...(w.opts.faults ? [] : checkChannelCompleteness(w)), ...(await checkDocuments(w)), ...checkInvitations(w), ...checkPresence(w), ...checkMedia(w)]
}

function byId(deliveries: Delivery[]): Map<string, Delivery[]> {
  const m = new Map<string, Delivery[]>()
  for (const d of deliveries) m.set(d.id, [...(m.get(d.id) ?? []), d])
  return m
}

/** True when `d`'s page crashed soon after delivering it (before it could save that it had). */
function crashedRightAfter(w: World, d: Delivery): boolean {
  return w.log.ends.some((e) => e.crash && e.uid === d.to && e.instance === d.instance && e.at - d.at <= CRASH_WINDOW_MS)
}

function checkMessages(w: World): string[] {
  const out: string[] = []
  const got = byId(w.log.deliveries.filter((d) => d.channel === ''))
  for (const s of w.log.peerSends.values()) {
    const ds = got.get(s.id) ?? []
    for (const d of ds) if (d.to !== s.to || d.from !== s.from) out.push(`${s.id} delivered to ${d.to} from ${d.from}`)
    if (ds.length > 1 && !ds.slice(0, -1).every((d) => crashedRightAfter(w, d))) {
      out.push(`${s.id} delivered ${ds.length} times: ${ds.map((d) => `${d.to}#${d.instance}@${d.path}`).join(', ')}`)
    }
    const st = s.state
    if (st === PeerMessageState.RECEIVED_BY_PEER && ds.length === 0) out.push(`${s.id} RECEIVED_BY_PEER but never delivered`)
    if (st && NOT_DELIVERED.has(st) && ds.length > 0) out.push(`${s.id} answered ${st} but delivered (${ds[0].path})`)
    if (st === PeerMessageState.CACHED_BY_SERVER && ds.length === 0) {
      // Only the per-receiver cap may drop it, and then the receiver was told (about at least this many).
      const told = w.log.dropped.get(s.to)?.get(s.from) ?? 0
      const lost = [...w.log.peerSends.values()].filter(
        (x) => x.from === s.from && x.to === s.to && x.state === PeerMessageState.CACHED_BY_SERVER && !got.has(x.id),
      ).length
      if (told < lost) out.push(`${s.id} CACHED_BY_SERVER, never delivered; ${s.to} was told of ${told} dropped from ${s.from}, ${lost} missing`)
    }
  }
  out.push(...checkOrder(w, [...w.log.peerSends.values()], w.log.deliveries.filter((d) => d.channel === '')))
  return out
}

/**
 * Per sender and receiver, deliveries follow the send order. A message may come later than a
 * newer one only if its sender never learnt its fate or heard SENT_TIMEOUT / NOT_LOGGED_IN
 * (unknown) and the newer one went on another stream (another page, or after a logout).
 */
type OrderedSend = Pick<PeerSend, 'id' | 'from' | 'instance' | 'epoch' | 'n'> & { state?: string }

function checkOrder<S extends OrderedSend>(w: World, sends: S[], deliveries: Delivery[], excused: (earlier: S, later: S) => boolean = () => false): string[] {
  const out: string[] = []
  const sendOf = new Map(sends.map((s) => [s.id, s]))
  const seen = new Map<string, Delivery[]>()
  for (const d of deliveries) {
    const k = `${d.from}>${d.to}${d.channel ? `@${d.channel}` : ''}`
    seen.set(k, [...(seen.get(k) ?? []), d])
  }
  for (const [k, list] of seen) {
    let latest: (typeof sends)[number] | null = null
    const had = new Set<string>()
    for (const d of list) {
      const s = sendOf.get(d.id)
      if (!s) continue
      // A second delivery (a page that crashed before saving what it got) is judged as a
      // duplicate above; here only first deliveries count.
      if (had.has(d.id)) continue
      had.add(d.id)
      if (latest && s.n < latest.n) {
        const otherStream = s.instance !== latest.instance || s.epoch !== latest.epoch
        const unknown = s.state === undefined || UNKNOWN.has(s.state)
        if (!(otherStream && unknown) && !crashedRightAfter(w, d) && !excused(s, latest)) out.push(`${k}: ${s.id} delivered after ${latest.id}`)
      }
      if (!latest || s.n > latest.n) latest = s
    }
  }
  return out
}

function checkChannels(w: World): string[] {
  const out: string[] = []
  const deliveries = w.log.deliveries.filter((d) => d.channel !== '')
  const got = byId(deliveries)
  for (const s of w.log.channelSends.values()) {
    const ds = got.get(s.id) ?? []
    const per = new Map<string, number>()
    for (const d of ds) per.set(d.to, (per.get(d.to) ?? 0) + 1)
    for (const [to, n] of per) {
      if (n > 1 && !ds.filter((d) => d.to === to).slice(0, -1).every((d) => crashedRightAfter(w, d))) out.push(`${s.id} delivered ${n} times to ${to}`)
    }
    if (!s.result) continue
    const failed = new Map(s.result.failures.map((f) => [f.memberId, f.state]))
    for (const [member, state] of failed) if (NOT_DELIVERED.has(state) && per.has(member)) out.push(`${s.id} to ${member}: ${state} but delivered`)
    const confirmed = s.result.members - s.result.failures.length - s.result.unconfirmed
    const receivers = new Set(per.keys())
    if (confirmed > receivers.size) out.push(`${s.id}: ${confirmed} members confirmed, ${receivers.size} got it`)
  }
  const overlaySent = (s: ChannelSend) => (s.result?.unconfirmed ?? 0) > 0
  const copiesLate = (s: ChannelSend) => !overlaySent(s) && (s.settledAt === undefined || s.settledAt - s.at > COPIES_FIRST_MS)
  const sends = [...w.log.channelSends.values()].map((s) => ({ ...s, state: s.result ? undefined : 'unknown' }))
  out.push(...checkOrder(w, sends, deliveries, (earlier, later) => overlaySent(later) && copiesLate(earlier)))

  const engine = w.engine!
  const isMember = (channel: string, uid: string) => engine.membersNow(APP, channel).some((m) => m.uid === uid)
  for (const u of w.users) {
    const inst = u.instance
    if (!inst) continue
    for (const [id, view] of inst.channels) {
      if (!view.channel.joined) continue
      const truth = engine.membersNow(APP, id).map((m) => m.uid).filter((m) => m !== u.uid).sort()
      if (!isMember(id, u.uid)) out.push(`${u.uid} thinks it is in ${id}; the node does not`)
      const seen = view.members ? [...view.members].sort() : null
      if (JSON.stringify(seen) !== JSON.stringify(truth)) out.push(`${u.uid}'s members of ${id}: ${JSON.stringify(seen)}, node: ${JSON.stringify(truth)}`)
      // Awareness: everyone else's current state, nobody else's.
      const states = new Map<string, unknown>()
      for (const [clientId, st] of view.channel.awareness.getStates()) if (clientId !== view.channel.awareness.clientID) states.set(String((st as { uid?: string }).uid), (st as { n?: number }).n ?? null)
      for (const o of w.users) {
        if (o === u) continue
        const ov = o.instance?.channels.get(id)
        const expected = ov?.channel.joined && truth.includes(o.uid) ? ((ov.channel.awareness.getLocalState() as { n?: number } | null)?.n ?? null) : undefined
        const actual = states.has(o.uid) ? states.get(o.uid) : undefined
        if (expected !== actual) out.push(`${u.uid} sees ${o.uid}'s awareness in ${id} as ${JSON.stringify(actual)}, it is ${JSON.stringify(expected)}`)
      }
    }
  }
  for (const u of w.users) {
    for (const id of w.channels) {
      const inst = u.instance
      if (isMember(id, u.uid) && !inst?.channels.get(id)?.channel.joined) out.push(`the node counts ${u.uid} in ${id}; its client is not in it`)
    }
  }
  return out
}

/** A member counts as one for a message from this long after its join's answer (its sender may not know of it sooner). */
const KNOWN_AFTER_MS = Number(process.env.SIM_KNOWN_AFTER_MS ?? 3000)
/** And if it stays in the channel at least this long after the send. */
const STAYS_FOR_MS = 20_000
/** A sender (or most members) that left this soon after (most members: or before) an overlay message may have taken it along (see checkChannelCompleteness). */
const SENDER_LEFT_MS = 1000
/** The overlay's gapGiveUpMs. */
const GAP_GIVE_UP_MS = 30_000
/** Without faults, every delivery comes within this long of the send (a longer wait is a stall). */
const CALM_LATENCY_MS = Number(process.env.SIM_CALM_LATENCY_MS ?? 12_000)

/**
 * Without faults (no crashes, no network faults, no logouts; members still join and leave), every
 * channel message reaches every member that was in the channel when it was sent and stayed, and soon:
 * no gap skipped, no stream that waits for a start it cannot find.
 */
function checkChannelCompleteness(w: World): string[] {
  const out: string[] = []
  const got = byId(w.log.deliveries.filter((d) => d.channel !== ''))
  const leftAfter = (s: ChannelSend) => w.log.memberships.some((m) => m.uid === s.from && m.instance === s.instance && m.channel === s.channel && m.to !== undefined && m.to >= s.at && m.to - s.at <= SENDER_LEFT_MS)
  /** Per sender, until when its messages may wait for one lost that way (gapGiveUpMs after the next one). */
  const waitUntil = new Map<string, number>()
  for (const s of w.log.channelSends.values()) {
    if (s.error !== undefined) continue
    // Its sender, or most members, left right after it (a swing; or right before it, not yet heard of): an overlay message is not
    // acknowledged, and dies with the members that had it; the sender's next ones wait for it at
    // the others until it is skipped.
    if ((s.result?.unconfirmed ?? 0) > 0 && (leftAfter(s) || w.log.massLeaves.some((t) => Math.abs(t - s.at) <= SENDER_LEFT_MS))) {
      // Its gap shows (and is waited for) when the sender's next message comes, however late.
      waitUntil.set(s.from, Infinity)
      continue
    }
    if (waitUntil.get(s.from) === Infinity) waitUntil.set(s.from, s.at + GAP_GIVE_UP_MS + 5000)
    const mayWait = (waitUntil.get(s.from) ?? 0) >= s.at
    const failed = new Set(s.result?.failures.map((f) => f.memberId) ?? [])
    const ds = got.get(s.id) ?? []
    for (const m of w.log.memberships) {
      if (m.channel !== s.channel || m.uid === s.from || failed.has(m.uid)) continue
      if (m.from > s.at - KNOWN_AFTER_MS || (m.to ?? Infinity) < s.at + STAYS_FOR_MS) continue
      const d = ds.find((x) => x.to === m.uid && x.instance === m.instance)
      if (!d) out.push(`${s.id} (${(s.result?.unconfirmed ?? 0) > 0 ? 'overlay' : 'copies'}) never reached ${m.uid}#${m.instance}, a member from ${m.from - s.at} ms to ${m.to === undefined ? 'the end' : `${m.to - s.at} ms`}`)
      else if (d.at - s.at > CALM_LATENCY_MS && !mayWait) out.push(`${s.id} reached ${m.uid}#${m.instance} ${d.at - s.at} ms after it was sent`)
    }
  }
  return out
}

async function checkDocuments(w: World): Promise<string[]> {
  const out: string[] = []
  const node = w.node!
  const canonical = (entries: [string, { value: string; lastUpdateUserId: string; lastUpdateTs: number }][]) =>
    JSON.stringify(entries.map(([k, a]) => [k, a.value, a.lastUpdateUserId, a.lastUpdateTs]).sort(([x], [y]) => ((x as string) < (y as string) ? -1 : 1)))
  for (const id of w.channels) {
    const entries = await node.channels.docs.read(APP, id, [])
    const truth = canonical(entries.map(({ key, ...a }) => [key, a]))
    const bytes = await node.channels.docs.stateBytes(APP, id)
    const live = entries.reduce((n, e) => n + e.key.length + e.value.length + e.lastUpdateUserId.length + 48, 0)
    if (bytes > 2 * live + w.opts.compactSlackBytes + 1024) out.push(`${id}: the node's document is ${bytes} bytes for ${live} bytes of attributes`)
    for (const u of w.users) {
      const ch = u.instance?.channels.get(id)?.channel
      if (!ch?.joined) continue
      const mine = canonical(Object.entries(ch.attributes()))
      if (mine !== truth) out.push(`${u.uid}'s attributes of ${id} differ from the node's:\n  ${mine}\n  ${truth}`)
    }
  }
  return out
}

function checkInvitations(w: World): string[] {
  const out: string[] = []
  for (const u of w.users) {
    const inst = u.instance
    if (!inst) continue
    for (const inv of inst.outgoing) if (inv.state === 'SENT_TO_REMOTE' || inv.state === 'RECEIVED_BY_REMOTE') out.push(`${u.uid}'s invitation ${inv.id} to ${inv.calleeId} stuck ${inv.state}`)
    for (const inv of inst.incoming) if (inv.state === 'INVITATION_RECEIVED' || inv.state === 'ACCEPT_SENT_TO_LOCAL') out.push(`${u.uid}'s invitation from ${inv.callerId} stuck ${inv.state}`)
    for (const inv of inst.outgoing) {
      const callee = w.users.find((x) => x.uid === inv.calleeId)?.instance
      const other = callee?.incoming.find((r) => r.id === inv.id && r.callerId === u.uid)
      if (!other) continue
      if (inv.state === 'ACCEPTED_BY_REMOTE' && other.state === 'REFUSED') out.push(`invitation ${inv.id}: caller accepted, callee refused`)
      if (inv.state === 'REFUSED_BY_REMOTE' && other.state === 'ACCEPTED') out.push(`invitation ${inv.id}: caller refused, callee accepted`)
    }
  }
  return out
}

function checkPresence(w: World): string[] {
  const out: string[] = []
  for (const u of w.users) {
    const inst = u.instance
    if (!inst || inst.client.connectionState !== 'CONNECTED') continue
    for (const o of w.users) {
      if (o === u) continue
      const truth = w.engine!.presenceNow(APP, [o.uid])[0]
      const seen = inst.presence.get(o.uid)
      if (seen !== truth) out.push(`${u.uid} sees ${o.uid} ${seen}, the node says ${truth}`)
    }
  }
  return out
}

/** Downloads of media a page asked for and that could fail only in these ways (the holder gone, the page gone). */
const MEDIA_FAILURES = new Set(['MEDIA_UNAVAILABLE', 'CANCELLED', 'DESTROYED'])

/**
 * Every download the app started ends — with the sender's bytes exactly, or an honest error —
 * unless its page died first.
 */
function checkMedia(w: World): string[] {
  const out: string[] = []
  const ended = new Set(w.log.ends.map((e) => `${e.uid}#${e.instance}`))
  for (const d of w.log.downloads) {
    const where = `${d.id} downloaded by ${d.to}#${d.instance}`
    if (d.outcome === undefined) {
      if (!ended.has(`${d.to}#${d.instance}`)) out.push(`${where}: never settled`)
    } else if (d.outcome !== 'ok' && !MEDIA_FAILURES.has(d.outcome)) out.push(`${where}: ${d.outcome}`)
  }
  return out
}
