/**
 * Login tokens are JWTs (HS256, signed with the app's secret): an app server in any language
 * mints one with the JWT library it already has. Claims: `sub` the user id, `aud` the app id,
 * `iat`, `exp`, and optionally `grants` (what the user may do; absent: everything an ordinary
 * user may). `jose` works in Node and in browsers.
 */
import { SignJWT, decodeJwt, errors as joseErrors, jwtVerify } from 'jose'
import { ErrorCode, PlazaError } from './errors.js'
import { isValidId } from './ids.js'
import { MAX_TOKEN_BYTES } from './limits.js'

/**
 * What a token allows. Channel patterns are exact names, or prefixes ending in `*` (`class-*`);
 * `*` alone is every channel.
 */
export interface Grants {
  /** Channels the user may join. Absent: any. */
  join?: string[]
  /** Channels where the user may send channel messages. Absent: any it is in. */
  publish?: string[]
  /** Whether the user may write channel attributes. Absent: yes. */
  writeAttributes?: boolean
  /** A role the channel shows to its other members (e.g. `teacher`). Absent: none. */
  role?: string
  /** Channels the user may moderate (remove and mute members). Absent: none. */
  moderate?: string[]
}

export interface TokenClaims {
  appId: string
  uid: string
  /** Issued at, seconds since epoch. */
  iat: number
  /** Expires at, seconds since epoch. */
  exp: number
  grants: Grants
}

export interface MintTokenOptions {
  appId: string
  uid: string
  /** Lifetime in seconds (default 24 h). */
  ttlSeconds?: number
  grants?: Grants
  /** Clock override, ms since epoch (tests). */
  now?: number
}

const MAX_PATTERNS = 64
const MAX_ROLE_BYTES = 32
const textEncoder = new TextEncoder()

/** Whether `channel` matches one of `patterns` (exact, prefix ending in `*`, or `*`). */
export function channelAllowed(patterns: string[] | undefined, channel: string): boolean {
  if (patterns === undefined) return true
  return patterns.some((p) => (p.endsWith('*') ? channel.startsWith(p.slice(0, -1)) : p === channel))
}

function checkGrants(g: unknown): Grants {
  if (g === undefined) return {}
  if (typeof g !== 'object' || g === null || Array.isArray(g)) throw new PlazaError(ErrorCode.INVALID_TOKEN, 'grants: an object')
  const o = g as Record<string, unknown>
  const out: Grants = {}
  for (const key of ['join', 'publish', 'moderate'] as const) {
    const v = o[key]
    if (v === undefined) continue
    if (
      !Array.isArray(v) ||
      v.length > MAX_PATTERNS ||
      !v.every((p) => typeof p === 'string' && isValidId(p))
    ) {
      throw new PlazaError(ErrorCode.INVALID_TOKEN, `grants.${key}: up to ${MAX_PATTERNS} channel names or prefixes ending in *`)
    }
    out[key] = v as string[]
  }
  if (o.writeAttributes !== undefined) {
    if (typeof o.writeAttributes !== 'boolean') throw new PlazaError(ErrorCode.INVALID_TOKEN, 'grants.writeAttributes: a boolean')
    out.writeAttributes = o.writeAttributes
  }
  if (o.role !== undefined) {
    if (typeof o.role !== 'string' || textEncoder.encode(o.role).length > MAX_ROLE_BYTES || !isValidId(o.role)) {
      throw new PlazaError(ErrorCode.INVALID_TOKEN, `grants.role: 1-${MAX_ROLE_BYTES} printable ASCII characters`)
    }
    out.role = o.role
  }
  return out
}

/** Mints a token for `uid` in `appId`, signed with the app's secret. For app servers and tests. */
export async function mintToken(secret: string, opts: MintTokenOptions): Promise<string> {
  if (!isValidId(opts.appId)) throw new PlazaError(ErrorCode.INVALID_APP_ID, 'invalid app id')
  if (!isValidId(opts.uid)) throw new PlazaError(ErrorCode.INVALID_USER_ID, 'invalid user id')
  const grants = checkGrants(opts.grants)
  const now = Math.floor((opts.now ?? Date.now()) / 1000)
  return new SignJWT(Object.keys(grants).length ? { grants } : {})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(opts.uid)
    .setAudience(opts.appId)
    .setIssuedAt(now)
    .setExpirationTime(now + (opts.ttlSeconds ?? 86400))
    .sign(textEncoder.encode(secret))
}

/** Reads the claims without checking the signature (a client showing its own expiry). */
export function readTokenClaims(token: string): TokenClaims {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_BYTES) throw new PlazaError(ErrorCode.INVALID_TOKEN, 'bad token')
  let payload: Record<string, unknown>
  try {
    payload = decodeJwt(token)
  } catch {
    throw new PlazaError(ErrorCode.INVALID_TOKEN, 'not a JWT')
  }
  const { sub, aud, iat, exp } = payload
  if (!isValidId(sub) || !isValidId(aud) || !Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) {
    throw new PlazaError(ErrorCode.INVALID_TOKEN, 'bad token claims: sub (user id), aud (app id), iat and exp are needed')
  }
  return { appId: aud, uid: sub, iat: iat as number, exp: exp as number, grants: checkGrants(payload.grants) }
}

/**
 * Verifies signature (HS256 only), app and expiry. Throws PlazaError INVALID_TOKEN (forged,
 * malformed, wrong app or uid) or TOKEN_EXPIRED.
 */
export async function verifyToken(token: string, secret: string, expect: { appId: string; uid?: string; now?: number }): Promise<TokenClaims> {
  const claims = readTokenClaims(token)
  try {
    await jwtVerify(token, textEncoder.encode(secret), {
      algorithms: ['HS256'],
      audience: expect.appId,
      currentDate: new Date(expect.now ?? Date.now()),
      requiredClaims: ['exp', 'sub'],
    })
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new PlazaError(ErrorCode.TOKEN_EXPIRED, 'token expired')
    if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'aud') throw new PlazaError(ErrorCode.INVALID_TOKEN, 'token is for another app')
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) throw new PlazaError(ErrorCode.INVALID_TOKEN, 'token signature does not match')
    throw new PlazaError(ErrorCode.INVALID_TOKEN, `bad token: ${(err as Error).message}`)
  }
  if (expect.uid !== undefined && claims.uid !== expect.uid) throw new PlazaError(ErrorCode.INVALID_TOKEN, 'token is for another user')
  return claims
}
