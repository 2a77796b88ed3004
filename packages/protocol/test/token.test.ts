import { describe, expect, it } from 'vitest'
import { ErrorCode, PlazaError, mintToken, readTokenClaims, verifyToken } from '../src/index.js'

async function codeOf(p: Promise<unknown>): Promise<ErrorCode | null> {
  return p.then(
    () => null,
    (e: unknown) => (e instanceof PlazaError ? e.code : null),
  )
}

describe('tokens', () => {
  it('verifies a token it minted and returns its claims', async () => {
    const t = await mintToken('s3cret', { appId: 'app', uid: 'alice', ttlSeconds: 60 })
    const claims = await verifyToken(t, 's3cret', { appId: 'app', uid: 'alice' })
    expect(claims).toMatchObject({ appId: 'app', uid: 'alice' })
    expect(claims.exp - claims.iat).toBe(60)
    expect(readTokenClaims(t)).toEqual(claims)
  })

  it('refuses a wrong secret, another app, another uid, and tampered claims with INVALID_TOKEN', async () => {
    const t = await mintToken('s3cret', { appId: 'app', uid: 'alice' })
    expect(await codeOf(verifyToken(t, 'other', { appId: 'app' }))).toBe(ErrorCode.INVALID_TOKEN)
    expect(await codeOf(verifyToken(t, 's3cret', { appId: 'app2' }))).toBe(ErrorCode.INVALID_TOKEN)
    expect(await codeOf(verifyToken(t, 's3cret', { appId: 'app', uid: 'bob' }))).toBe(ErrorCode.INVALID_TOKEN)
    const [v, , sig] = t.split('.')
    const forgedClaims = btoa(JSON.stringify({ appId: 'app', uid: 'bob', iat: 1, exp: 2 ** 31 })).replace(/=+$/, '')
    expect(await codeOf(verifyToken(`${v}.${forgedClaims}.${sig}`, 's3cret', { appId: 'app' }))).toBe(ErrorCode.INVALID_TOKEN)
    for (const junk of ['', 'v1', 'v1.a', 'v2.a.b', 'v1.!!.b', 'v1.e30.x', 'x'.repeat(5000)]) {
      expect(await codeOf(verifyToken(junk, 's3cret', { appId: 'app' }))).toBe(ErrorCode.INVALID_TOKEN)
    }
  })

  it('refuses an expired token with TOKEN_EXPIRED', async () => {
    const t = await mintToken('s3cret', { appId: 'app', uid: 'alice', ttlSeconds: 10, now: Date.now() - 11_000 })
    expect(await codeOf(verifyToken(t, 's3cret', { appId: 'app' }))).toBe(ErrorCode.TOKEN_EXPIRED)
  })
})
