import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { ErrorCode, PlazaError, channelAllowed, mintToken, readTokenClaims, verifyToken } from '../src/index.js'

async function codeOf(p: Promise<unknown>): Promise<ErrorCode | null> {
  return p.then(
    () => null,
    (e: unknown) => (e instanceof PlazaError ? e.code : null),
  )
}
const key = (s: string) => new TextEncoder().encode(s)

describe('tokens (JWT, HS256)', () => {
  it('verifies a token it minted and returns its claims', async () => {
    const t = await mintToken('s3cret', { appId: 'app', uid: 'alice', ttlSeconds: 60 })
    expect(t.split('.')).toHaveLength(3)
    const claims = await verifyToken(t, 's3cret', { appId: 'app', uid: 'alice' })
    expect(claims).toMatchObject({ appId: 'app', uid: 'alice', grants: {} })
    expect(claims.exp - claims.iat).toBe(60)
    expect(readTokenClaims(t)).toEqual(claims)
  })

  it('takes a token minted by any JWT library: sub, aud, exp and grants', async () => {
    const now = Math.floor(Date.now() / 1000)
    const t = await new SignJWT({ grants: { join: ['class-*'], role: 'teacher', moderate: ['class-*'] } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ada')
      .setAudience('app')
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(key('s3cret'))
    expect(await verifyToken(t, 's3cret', { appId: 'app', uid: 'ada' })).toMatchObject({ grants: { join: ['class-*'], role: 'teacher', moderate: ['class-*'] } })
  })

  it('refuses a wrong secret, another app, another uid, another algorithm, bad grants and junk with INVALID_TOKEN', async () => {
    const t = await mintToken('s3cret', { appId: 'app', uid: 'alice' })
    expect(await codeOf(verifyToken(t, 'other', { appId: 'app' }))).toBe(ErrorCode.INVALID_TOKEN)
    expect(await codeOf(verifyToken(t, 's3cret', { appId: 'app2' }))).toBe(ErrorCode.INVALID_TOKEN)
    expect(await codeOf(verifyToken(t, 's3cret', { appId: 'app', uid: 'bob' }))).toBe(ErrorCode.INVALID_TOKEN)
    const [head, , sig] = t.split('.')
    const forged = btoa(JSON.stringify({ sub: 'bob', aud: 'app', iat: 1, exp: 2 ** 31 })).replace(/=+$/, '')
    expect(await codeOf(verifyToken(`${head}.${forged}.${sig}`, 's3cret', { appId: 'app' }))).toBe(ErrorCode.INVALID_TOKEN)
    const none = `${btoa(JSON.stringify({ alg: 'none' })).replace(/=+$/, '')}.${forged}.`
    expect(await codeOf(verifyToken(none, 's3cret', { appId: 'app' }))).toBe(ErrorCode.INVALID_TOKEN)
    const now = Math.floor(Date.now() / 1000)
    const hs512 = await new SignJWT({}).setProtectedHeader({ alg: 'HS512' }).setSubject('alice').setAudience('app').setExpirationTime(now + 60).setIssuedAt(now).sign(key('s3cret'))
    expect(await codeOf(verifyToken(hs512, 's3cret', { appId: 'app' }))).toBe(ErrorCode.INVALID_TOKEN)
    const badGrants = await new SignJWT({ grants: { join: 'everything' } }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setAudience('app').setIssuedAt(now).setExpirationTime(now + 60).sign(key('s3cret'))
    expect(await codeOf(verifyToken(badGrants, 's3cret', { appId: 'app' }))).toBe(ErrorCode.INVALID_TOKEN)
    for (const junk of ['', 'v1', 'v1.a', 'a.b.c', 'e30.e30.x', 'x'.repeat(5000)]) {
      expect(await codeOf(verifyToken(junk, 's3cret', { appId: 'app' }))).toBe(ErrorCode.INVALID_TOKEN)
    }
  })

  it('refuses an expired token with TOKEN_EXPIRED', async () => {
    const t = await mintToken('s3cret', { appId: 'app', uid: 'alice', ttlSeconds: 10, now: Date.now() - 11_000 })
    expect(await codeOf(verifyToken(t, 's3cret', { appId: 'app' }))).toBe(ErrorCode.TOKEN_EXPIRED)
  })

  it('matches channels exactly, by prefix, or all', () => {
    expect(channelAllowed(undefined, 'x')).toBe(true)
    expect(channelAllowed(['class-*'], 'class-7')).toBe(true)
    expect(channelAllowed(['class-*'], 'lobby')).toBe(false)
    expect(channelAllowed(['lobby'], 'lobby')).toBe(true)
    expect(channelAllowed(['lobby'], 'lobby2')).toBe(false)
    expect(channelAllowed(['*'], 'anything')).toBe(true)
    expect(channelAllowed([], 'anything')).toBe(false)
  })
})
