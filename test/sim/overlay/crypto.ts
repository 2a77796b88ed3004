/**
 * Real Ed25519 (node:crypto, synchronous as virtual time needs) for the simulated members and the
 * node. Results are shared across members: the same (key, bytes, signature) gets the same answer,
 * so each distinct signature is checked once for real, not once per member (10,000 members × 300
 * messages would be 3 million checks, ~5 min of CPU). Forged bytes are distinct: checked for real.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { overlayCertSigningBytes, type MemberCert } from '@plaza/protocol'
import type { OverlayCrypto } from '@plaza/client/overlay'

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const publicKeys = new Map<string, KeyObject>()
const results = new Map<string, { pub: Uint8Array; data: Uint8Array; ok: boolean }>()

function publicKeyOf(raw: Uint8Array): KeyObject | null {
  const k = Buffer.from(raw).toString('base64')
  let key = publicKeys.get(k)
  if (!key) {
    try {
      key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' })
    } catch {
      return null
    }
    publicKeys.set(k, key)
  }
  return key
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0

export function verifyEd25519(pub: Uint8Array, data: Uint8Array, sig: Uint8Array): boolean {
  const k = Buffer.from(sig).toString('base64')
  const memo = results.get(k)
  if (memo && same(memo.pub, pub) && same(memo.data, data)) return memo.ok
  const key = publicKeyOf(pub)
  let ok = false
  if (key && sig.length === 64) {
    try {
      ok = verify(null, data, key, sig)
    } catch {
      ok = false
    }
  }
  if (results.size > 200_000) results.clear()
  results.set(k, { pub, data, ok })
  return ok
}

export interface SimKey {
  publicKey: Uint8Array
  privateKey: KeyObject
}

export function newKey(): SimKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  const der = publicKey.export({ format: 'der', type: 'spki' })
  return { publicKey: new Uint8Array(der.subarray(der.length - 32)), privateKey }
}

/** node:crypto keys are not seeded: a member's key is derived from seeded bytes instead (deterministic runs). */
export function keyFromSeed(seed: Uint8Array): SimKey {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed])
  const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
  const der = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  return { publicKey: new Uint8Array(der.subarray(der.length - 32)), privateKey }
}

export function simCrypto(key: SimKey): OverlayCrypto {
  return {
    sign: (data) => new Uint8Array(sign(null, data, key.privateKey)),
    verify: verifyEd25519,
  }
}

export function issueCert(node: SimKey, app: string, channel: string, uid: string, pubkey: Uint8Array, expiry: number): MemberCert {
  const c = { app, channel, uid, pubkey, expiry }
  return { ...c, sig: new Uint8Array(sign(null, overlayCertSigningBytes(c), node.privateKey)) }
}
