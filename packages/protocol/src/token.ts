/**
 * Login tokens: `v1.<claims>.<signature>`, both parts base64url; the signature is
 * HMAC-SHA256 over "v1.<claims>" with the app's secret. WebCrypto only, so the same code
 * mints in an app server (Node) and verifies in the rendezvous.
 */
import { ErrorCode, PlazaError } from './errors.js'
import { isValidId } from './ids.js'
import { MAX_TOKEN_BYTES } from './limits.js'

export interface TokenClaims {
  appId: string
  uid: string
  /** Issued at, seconds since epoch. */
  iat: number
  /** Expires at, seconds since epoch. */
  exp: number
}

export interface MintTokenOptions {
  appId: string
  uid: string
  /** Lifetime in seconds (default 24 h). */
  ttlSeconds?: number
  /** Clock override, ms since epoch (tests). */
  now?: number
}

const PREFIX = 'v1'
const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

function toBase64Url(bytes: Uint8Array): string {
  let bin = ''
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i])
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function fromBase64Url(s: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new PlazaError(ErrorCode.INVALID_TOKEN, 'token is not base64url')
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4))
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

async function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', textEncoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ])
}

/** Mints a token for `uid` in `appId`, signed with the app's secret. For app servers and tests. */
export async function mintToken(secret: string, opts: MintTokenOptions): Promise<string> {
  if (!isValidId(opts.appId)) throw new PlazaError(ErrorCode.INVALID_APP_ID, 'invalid app id')
  if (!isValidId(opts.uid)) throw new PlazaError(ErrorCode.INVALID_USER_ID, 'invalid user id')
  const now = Math.floor((opts.now ?? Date.now()) / 1000)
  const claims: TokenClaims = { appId: opts.appId, uid: opts.uid, iat: now, exp: now + (opts.ttlSeconds ?? 86400) }
  const body = `${PREFIX}.${toBase64Url(textEncoder.encode(JSON.stringify(claims)))}`
  const sig = await crypto.subtle.sign('HMAC', await hmacKey(secret), textEncoder.encode(body))
  return `${body}.${toBase64Url(new Uint8Array(sig))}`
}

/** Reads the claims without checking the signature (a client showing its own expiry). */
export function readTokenClaims(token: string): TokenClaims {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_BYTES) throw new PlazaError(ErrorCode.INVALID_TOKEN, 'bad token')
  const parts = token.split('.')
  if (parts.length !== 3 || parts[0] !== PREFIX) throw new PlazaError(ErrorCode.INVALID_TOKEN, 'bad token format')
  let claims: unknown
  try {
    claims = JSON.parse(textDecoder.decode(fromBase64Url(parts[1])))
  } catch {
    throw new PlazaError(ErrorCode.INVALID_TOKEN, 'bad token claims')
  }
  const c = claims as Partial<TokenClaims>
  if (
    typeof c !== 'object' ||
    c === null ||
    !isValidId(c.appId) ||
    !isValidId(c.uid) ||
    !Number.isSafeInteger(c.iat) ||
    !Number.isSafeInteger(c.exp)
  ) {
    throw new PlazaError(ErrorCode.INVALID_TOKEN, 'bad token claims')
  }
  return { appId: c.appId, uid: c.uid, iat: c.iat as number, exp: c.exp as number }
}

/**
 * Verifies signature, app and expiry. Throws PlazaError INVALID_TOKEN (forged, malformed,
 * wrong app or uid) or TOKEN_EXPIRED.
 */
export async function verifyToken(
  token: string,
  secret: string,
  expect: { appId: string; uid?: string; now?: number },
): Promise<TokenClaims> {
  const claims = readTokenClaims(token)
  const [prefix, body, sig] = token.split('.')
  const ok = await crypto.subtle.verify(
    'HMAC',
    await hmacKey(secret),
    fromBase64Url(sig),
    textEncoder.encode(`${prefix}.${body}`),
  )
  if (!ok) throw new PlazaError(ErrorCode.INVALID_TOKEN, 'token signature does not match')
  if (claims.appId !== expect.appId) throw new PlazaError(ErrorCode.INVALID_TOKEN, 'token is for another app')
  if (expect.uid !== undefined && claims.uid !== expect.uid) {
    throw new PlazaError(ErrorCode.INVALID_TOKEN, 'token is for another user')
  }
  if (claims.exp * 1000 <= (expect.now ?? Date.now())) throw new PlazaError(ErrorCode.TOKEN_EXPIRED, 'token expired')
  return claims
}
