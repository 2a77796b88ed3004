/** What the simulation saw happen: the checker reads only this and the final state. */
import type { ChannelSendResult, PeerMessageState } from '@plaza/client'

export interface PeerSend {
  id: string
  from: string
  /** The client instance (page load) that sent it, and its session epoch (logouts). */
  instance: number
  epoch: number
  to: string
  offline: boolean
  /** Order of sends by this user (all instances). */
  n: number
  at: number
  /** Outcome; undefined while unsettled (forever if the page died first). */
  state?: PeerMessageState
  settledAt?: number
  /** Restored after a reload and settled there (OutboxMessageSettled). */
  restored?: boolean
}

export interface Delivery {
  id: string
  from: string
  to: string
  instance: number
  at: number
  path: string
  channel: string
}

export interface ChannelSend {
  id: string
  from: string
  instance: number
  epoch: number
  channel: string
  n: number
  at: number
  result?: ChannelSendResult
  settledAt?: number
  error?: string
}

/** A download of a media message's file by its receiver. */
export interface MediaDownload {
  /** The message's sim id (its description). */
  id: string
  to: string
  instance: number
  at: number
  /** 'ok' (bytes match the sent file), 'wrong bytes', or the error's code name; undefined while under way. */
  outcome?: string
}

export interface InstanceEnd {
  uid: string
  instance: number
  at: number
  /** The page crashed (its storage writes in flight lost). */
  crash: boolean
}

/** A page's time in a channel: from its join's answer to the start of its leave (or the page's end). */
export interface Membership {
  uid: string
  instance: number
  channel: string
  from: number
  to?: number
}

export class SimLog {
  readonly peerSends = new Map<string, PeerSend>()
  readonly deliveries: Delivery[] = []
  readonly channelSends = new Map<string, ChannelSend>()
  /** receiver -> sender -> how many stored messages the node said it dropped. */
  readonly dropped = new Map<string, Map<string, number>>()
  readonly ends: InstanceEnd[] = []
  /** Media id -> SHA-256 (hex) of the file its sender made. */
  readonly mediaFiles = new Map<string, string>()
  readonly downloads: MediaDownload[] = []
  readonly memberships: Membership[] = []
  /** When most members left a channel at once (World.swing). */
  readonly massLeaves: number[] = []
  /** A line per notable event, printed when a seed fails. */
  readonly trace: string[] = []
  private readonly limit: number

  constructor(
    private readonly now: () => number,
    traceLimit = 4000,
  ) {
    this.limit = traceLimit
  }

  note(line: string): void {
    this.trace.push(`${((this.now() - 1_700_000_000_000) / 1000).toFixed(3)} ${line}`)
    if (this.trace.length > this.limit) this.trace.shift()
  }

  joined(uid: string, instance: number, channel: string): void {
    this.memberships.push({ uid, instance, channel, from: this.now() })
  }

  /** `channel` empty: every channel of that page. */
  left(uid: string, instance: number, channel = ''): void {
    for (const m of this.memberships) if (m.uid === uid && m.instance === instance && (channel === '' || m.channel === channel) && m.to === undefined) m.to = this.now()
  }

  dropNotice(to: string, from: string, count: number): void {
    let m = this.dropped.get(to)
    if (!m) this.dropped.set(to, (m = new Map()))
    m.set(from, (m.get(from) ?? 0) + count)
  }
}
