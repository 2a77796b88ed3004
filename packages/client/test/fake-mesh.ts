import type { LinkOptions, PeerLink } from '../src/mesh/link.js'
import { LinkFrameType } from '@plaza/protocol'
import { Mesh } from '../src/mesh/mesh.js'
import { systemRuntime } from '../src/runtime.js'

/** An in-memory link: `signal` pairs it with the other end, data goes over after a macrotask, each send one message. */
export class FakeLink implements PeerLink {
  static waiting: FakeLink | null = null
  other: FakeLink | null = null
  /** Every data channel message this end sent. */
  readonly wire: Uint8Array[] = []
  private readonly handlers = new Map<string, ((...a: never[]) => void)[]>()
  constructor(readonly opts: LinkOptions & { speaksHello: boolean }) {
    if (opts.initiator) setTimeout(() => this.emit('signal', { type: 'offer', sdp: 'x' }), 0)
  }
  bufferSize = 0
  on(event: string, fn: (...a: never[]) => void): this {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), fn])
    return this
  }
  emit(event: string, ...args: unknown[]): void {
    for (const fn of this.handlers.get(event) ?? []) (fn as (...a: unknown[]) => void)(...args)
  }
  signal(data: object): void {
    const t = (data as { type?: string }).type
    if (t === 'offer') {
      this.other = FakeLink.waiting
      this.other!.other = this
      setTimeout(() => this.emit('signal', { type: 'answer', sdp: 'y' }), 0)
    } else if (t === 'answer') {
      setTimeout(() => {
        this.emit('connect')
        this.other!.emit('connect')
      }, 0)
    }
  }
  send(bytes: Uint8Array): void {
    // An end that does not know HELLO (an older client) ignores it: it never says it takes batches.
    if (this.destroyed) throw new Error('cannot send: the link is not open')
    if (!this.opts.speaksHello && bytes[0] === LinkFrameType.HELLO) return
    this.wire.push(bytes)
    const copy = bytes.slice()
    const other = this.other!
    // An older client ignores BYE too (an unknown frame).
    if (!other.opts.speaksHello && bytes[0] === LinkFrameType.BYE) return
    setTimeout(() => other.destroyed || other.emit('data', copy), 0)
  }
  destroyed = false
  /** Closes this end; the other end sees it close (as a far end's close) after a macrotask. */
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    const other = this.other
    setTimeout(() => {
      this.emit('close')
      if (other && !other.destroyed) {
        other.destroyed = true
        other.emit('close')
      }
    }, 0)
  }
}

const made: Mesh[] = []
export function closeMeshes(): void {
  for (const m of made.splice(0)) m.close()
}

export function pair(bSpeaksHello = true) {
  const links: Record<string, FakeLink> = {}
  const got: Record<string, Uint8Array[]> = { a: [], b: [] }
  const meshes: Record<string, Mesh> = {}
  for (const uid of ['a', 'b']) {
    const other = uid === 'a' ? 'b' : 'a'
    meshes[uid] = new Mesh(
      () => uid,
      (_to, data) => (setTimeout(() => meshes[other]!.onSignal(uid, data), 0), true),
      {
        maxLinks: 8,
        idleTimeoutMs: 60_000,
        connectTimeoutMs: 5000,
        retryAfterFailureMs: 1000,
        createLink: (opts) => {
          const l = new FakeLink({ ...opts, speaksHello: uid === 'a' || bSpeaksHello })
          if (opts.initiator) FakeLink.waiting = l
          return (links[uid] = l)
        },
      },
      systemRuntime,
    )
    meshes[uid]!.on('data', (_from, bytes) => got[uid]!.push(bytes))
    made.push(meshes[uid]!)
  }
  return { meshes, links, got }
}

