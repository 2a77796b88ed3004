import * as Y from 'yjs'
import * as awarenessProtocol from 'y-protocols/awareness'
import { awarenessUidOf, encodeAwarenessUpdate, ownAwarenessEntries, type AwarenessEntry } from '@plaza/protocol'
import type { Runtime } from '../runtime.js'

const REMOTE = 'remote'
/** Awareness state field naming the user behind an awareness client id. */
const UID_FIELD = 'uid'
/** Awareness states a channel holds (the node keeps as many); past it new client ids over direct links are dropped. */
const MAX_AWARENESS_CLIENTS = 1024

/**
 * A channel's member state (y-protocols awareness): this member's own (`onOwnChange` when it
 * changes, for the channel to send), and the others', from the node and over direct links — each
 * member's own entries only, bounded.
 */
export class ChannelAwareness {
  readonly awareness: awarenessProtocol.Awareness

  constructor(
    channelId: string,
    rt: Runtime,
    /** Our own state changed (the channel sends it to the members and the node, while joined). */
    onOwnChange: () => void,
  ) {
    // Awareness lives on a document of its own: the attribute document is replaced on compaction.
    const doc = new Y.Doc({ guid: channelId })
    doc.clientID = Math.floor(rt.random() * 0xffffffff) >>> 0
    this.awareness = new awarenessProtocol.Awareness(doc)
    const timer = (this.awareness as unknown as { _checkInterval?: { unref?: () => void } })._checkInterval
    // HACK: y-protocols' renewal interval is ref'd; in Node it would keep an app's process alive.
    timer?.unref?.()
    // Under a simulated clock its real-time timer would fire at random points of the run.
    if (rt.virtualTime) clearInterval(timer as Parameters<typeof clearInterval>[0])
    this.awareness.setLocalState(null)
    this.awareness.on('update', ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
      if (origin === REMOTE) return
      if ([...added, ...updated, ...removed].includes(this.awareness.clientID)) onOwnChange()
    })
  }

  /** Joined: our state names us (whatever the app set before). */
  announce(uid: string): void {
    this.awareness.setLocalState({ [UID_FIELD]: uid, ...(this.awareness.getLocalState() ?? {}) })
  }

  /** Sets our state again (renewed, not just resent: members that dropped it meanwhile ignore an old clock). */
  renew(): void {
    const mine = this.awareness.getLocalState()
    if (mine) this.awareness.setLocalState(mine)
  }

  /** Our state withdrawn (tells the others, while the channel still sends). */
  withdraw(): void {
    this.awareness.setLocalState(null)
  }

  /** Our state as an update, or null when we have none. */
  own(): Uint8Array | null {
    return this.awareness.getLocalState() ? awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.awareness.clientID]) : null
  }

  /** Our state as an update, set or not (null sent: removed). */
  ownUpdate(): Uint8Array {
    return awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.awareness.clientID])
  }

  /** An update from the node (it checked whose entries it holds). */
  apply(payload: Uint8Array): void {
    try {
      awarenessProtocol.applyAwarenessUpdate(this.awareness, payload, REMOTE)
    } catch {
      // A malformed awareness update changes nothing.
    }
  }

  /** An update from a member over a direct link: only its own entries, not another member's client id, not a state naming someone else. */
  fromMember(from: string, payload: Uint8Array): void {
    let kept: AwarenessEntry[]
    try {
      ;({ kept } = ownAwarenessEntries(payload, from, (id) => {
        const st = this.awareness.getStates().get(id)
        return st ? awarenessUidOf(JSON.stringify(st)) : undefined
      }))
    } catch {
      return
    }
    // Bounded: past MAX_AWARENESS_CLIENTS states a new client id is not taken.
    const states = this.awareness.getStates()
    kept = kept.filter((x) => states.has(x.clientId) || states.size < MAX_AWARENESS_CLIENTS)
    if (kept.length) this.apply(encodeAwarenessUpdate(kept))
  }

  /** A member is gone: its states go. */
  forgetMember(uid: string): void {
    this.forget([...this.awareness.getStates()].filter(([, st]) => st?.[UID_FIELD] === uid).map(([id]) => id))
  }

  /** Every other member's state goes (a later join gets them afresh from the node). */
  forgetOthers(): void {
    this.forget([...this.awareness.getStates().keys()].filter((id) => id !== this.awareness.clientID))
  }

  destroy(): void {
    this.awareness.destroy()
  }

  /**
   * Drops remote awareness states and their clocks: a state seen again later (the node's
   * snapshot at a rejoin) is taken even if its owner has not changed it since.
   */
  private forget(ids: number[]): void {
    if (ids.length) awarenessProtocol.removeAwarenessStates(this.awareness, ids, REMOTE)
    for (const id of ids) this.awareness.meta.delete(id)
  }
}
