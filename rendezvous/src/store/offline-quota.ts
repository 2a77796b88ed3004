/** A bound on stored offline messages: how many, and their bytes. */
export interface Quota {
  messages: number
  bytes: number
}

interface Usage {
  messages: number
  bytes: number
}

export type QuotaScope = 'sender' | 'app'

const SEP = '\u0000'

/**
 * What each sender and each app holds in the offline store (accepted writes included), so that
 * a put past a quota is refused before it is written. Rebuilt from disk at start.
 */
export class OfflineUsage {
  private readonly senders = new Map<string, Usage>()
  private readonly apps = new Map<string, Usage>()

  constructor(
    private readonly perSender: Quota,
    private readonly perApp: Quota,
  ) {}

  /** Counts a message in, or says which quota it would pass (nothing counted then). */
  reserve(appId: string, from: string, bytes: number, senderExempt = false): QuotaScope | null {
    const app = this.apps.get(appId) ?? { messages: 0, bytes: 0 }
    if (app.messages + 1 > this.perApp.messages || app.bytes + bytes > this.perApp.bytes) return 'app'
    const sk = appId + SEP + from
    const sender = this.senders.get(sk) ?? { messages: 0, bytes: 0 }
    if (!senderExempt && (sender.messages + 1 > this.perSender.messages || sender.bytes + bytes > this.perSender.bytes)) return 'sender'
    this.add(appId, from, bytes)
    return null
  }

  /** Counts a message that is on disk (at start, without checking quotas). */
  add(appId: string, from: string, bytes: number): void {
    bump(this.apps, appId, 1, bytes)
    bump(this.senders, appId + SEP + from, 1, bytes)
  }

  /** A message left the store (delivered, dropped, expired) or was never written. */
  release(appId: string, from: string, bytes: number): void {
    bump(this.apps, appId, -1, -bytes)
    bump(this.senders, appId + SEP + from, -1, -bytes)
  }

  of(appId: string, from?: string): Usage {
    const u = from === undefined ? this.apps.get(appId) : this.senders.get(appId + SEP + from)
    return { messages: u?.messages ?? 0, bytes: u?.bytes ?? 0 }
  }

  clear(): void {
    this.senders.clear()
    this.apps.clear()
  }
}

function bump(map: Map<string, Usage>, key: string, messages: number, bytes: number): void {
  const u = map.get(key) ?? { messages: 0, bytes: 0 }
  u.messages += messages
  u.bytes += bytes
  if (u.messages <= 0) map.delete(key)
  else map.set(key, u)
}
