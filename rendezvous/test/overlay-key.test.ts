import { createPublicKey, verify } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { issueOverlayCert, verifyOverlayCert } from '@plaza/protocol'
import { OverlayKeys, deriveOverlayKey } from '../src/overlay/node-key.js'
import { sampleOf } from '../src/overlay/overlay-service.js'

const ed25519Verify = (pub: Uint8Array, bytes: Uint8Array, sig: Uint8Array) =>
  verify(null, bytes, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub).toString('base64url') }, format: 'jwk' }), sig)

describe('the node overlay key', () => {
  it('is derived the same from the same app and secret, and differs for another app or secret', () => {
    const a = deriveOverlayKey('app1', 'secret-1').key
    expect(deriveOverlayKey('app1', 'secret-1').key).toEqual(a)
    expect(a.publicKey.length).toBe(32)
    expect(a.id).toMatch(/^[0-9a-f]{16}$/)
    expect(deriveOverlayKey('app2', 'secret-1').key.id).not.toBe(a.id)
    expect(deriveOverlayKey('app1', 'secret-2').key.id).not.toBe(a.id)
  })

  it('signs certificates its public key verifies; unknown apps have none', async () => {
    const keys = new OverlayKeys({ app1: 'secret-1' })
    expect(keys.of('nope')).toBeUndefined()
    const k = keys.of('app1')!
    expect(keys.of('app1')).toBe(k)
    const cert = issueOverlayCert({ app: 'app1', channel: 'room', uid: 'u', pubkey: new Uint8Array(32).fill(5), expiry: 10 }, k.sign)
    expect(await verifyOverlayCert(cert, k.key.publicKey, 9, ed25519Verify)).toBe(true)
    expect(await verifyOverlayCert(cert, deriveOverlayKey('app1', 'secret-2').key.publicKey, 9, ed25519Verify)).toBe(false)
  })

  it('samples candidates without repeats, at most n, driven by the given randomness only', () => {
    const list = Array.from({ length: 20 }, (_, i) => `u${i}`)
    const seq = (seed: number) => () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646
    const a = sampleOf(list, 5, seq(7))
    expect(a).toHaveLength(5)
    expect(new Set(a).size).toBe(5)
    expect(sampleOf(list, 5, seq(7))).toEqual(a)
    expect(sampleOf(list, 50, seq(7)).sort()).toEqual([...list].sort())
    expect(sampleOf([], 3, seq(1))).toEqual([])
  })
})
