import { RelayStatus, encodeMediaFrame, type MediaFrame } from '@plaza/protocol'

/** How media frames reach another client: its direct link when open, else the node's relay. */
export interface MediaTransport {
  linkOpen(uid: string): boolean
  /** Over the open link; false when there is none or its buffer is full. */
  linkSend(uid: string, bytes: Uint8Array): boolean
  /** Worth building a direct link to `uid`. */
  linkWanted(uid: string): void
  /** Through the relay without waiting for the node's answer; false when not connected. */
  relaySend(uid: string, bytes: Uint8Array): boolean
  /** Bytes sent to the node and not yet on the network (what the relay path may add to is bounded by it). */
  relayPending(): number
  /** Through the relay, with the node's answer (PEER_OFFLINE tells the user is gone). */
  relayRequest(uid: string, bytes: Uint8Array): Promise<RelayStatus>
}

/**
 * A small frame (query, request, cancel): the link if open, else the relay. Resolves false when
 * the receiver is known to be unreachable now (offline, or the node refused).
 */
export async function sendControl(t: MediaTransport, uid: string, f: MediaFrame): Promise<boolean> {
  const bytes = encodeMediaFrame(f)
  if (t.linkOpen(uid) && t.linkSend(uid, bytes)) return true
  t.linkWanted(uid)
  try {
    return (await t.relayRequest(uid, bytes)) === RelayStatus.RELAYED
  } catch {
    return false
  }
}
