/**
 * The node's Ed25519 keys for overlay member certificates (PROTOCOL.md, "Channel overlay"), one
 * per app, derived from the app's token secret with HKDF-SHA256. So the key survives restarts
 * with no state to keep, and every node of a cluster (which must share the app secrets anyway to
 * check tokens) signs with the same key. Whoever holds an app's secret can already mint tokens
 * for any uid of it, so deriving from it adds no power; rotating the secret rotates the key
 * (its id changes, and members see the new one at their next login).
 */
import { createHash, createPrivateKey, createPublicKey, hkdfSync, sign, type KeyObject } from 'node:crypto'
import type { NodeOverlayKey, OverlaySignFn } from '@plaza/protocol'

const SALT = 'plaza/overlay-node-key/1'
/** DER of a PKCS#8 Ed25519 private key, less its 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

export interface AppOverlayKey {
  readonly key: NodeOverlayKey
  readonly sign: OverlaySignFn
}

export function deriveOverlayKey(appId: string, secret: string): AppOverlayKey {
  const seed = Buffer.from(hkdfSync('sha256', secret, SALT, appId, 32))
  const privateKey: KeyObject = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' })
  const publicKey = new Uint8Array(Buffer.from(jwk.x!, 'base64url'))
  const id = createHash('sha256').update(publicKey).digest('hex').slice(0, 16)
  return { key: { id, publicKey }, sign: (bytes) => new Uint8Array(sign(null, bytes, privateKey)) }
}

/** The keys of the configured apps, derived on first use. */
export class OverlayKeys {
  private readonly keys = new Map<string, AppOverlayKey>()
  constructor(private readonly apps: Record<string, string>) {}

  /** Undefined for an app the node does not know. */
  of(appId: string): AppOverlayKey | undefined {
    let k = this.keys.get(appId)
    const secret = this.apps[appId]
    if (!k && secret !== undefined) this.keys.set(appId, (k = deriveOverlayKey(appId, secret)))
    return k
  }
}
