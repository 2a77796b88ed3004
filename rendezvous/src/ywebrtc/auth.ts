import { ErrorCode, PlazaError, isValidId, readTokenClaims, verifyToken } from '@plaza/protocol'
import type { YWebrtcAuth } from '../config.js'

/** Who a y-webrtc socket is: the app whose topics it sees ('' for none named), and until when its token holds. */
export interface YAdmitted {
  app: string
  /** ms since epoch; Infinity without a token. */
  expiresAt: number
}

export interface YAuthConfig {
  apps: Record<string, string>
  ywebrtcAuth: YWebrtcAuth
  ywebrtcAuthPerApp: Record<string, YWebrtcAuth>
}

export const policyOf = (cfg: YAuthConfig, app: string): YWebrtcAuth => cfg.ywebrtcAuthPerApp[app] ?? cfg.ywebrtcAuth

/**
 * Admits a y-webrtc handshake by its URL query: `app` (optional; a token's own app otherwise) and
 * `token` (a Plaza token of that app, any uid). Rejects with a PlazaError (INVALID_APP_ID,
 * INVALID_TOKEN, TOKEN_EXPIRED, NOT_PERMITTED) under the app's policy (see YWebrtcAuth).
 */
export async function admit(cfg: YAuthConfig, query: URLSearchParams, now: number): Promise<YAdmitted> {
  const token = query.get('token') ?? ''
  let app = query.get('app') ?? ''
  if (!app && token) {
    try {
      app = readTokenClaims(token).appId
    } catch {
      throw new PlazaError(ErrorCode.INVALID_TOKEN, 'token: not a Plaza token')
    }
  }
  if (app && !isValidId(app)) throw new PlazaError(ErrorCode.INVALID_APP_ID, 'app: 1-64 printable ASCII characters')
  const policy = policyOf(cfg, app)
  if (policy === 'off' || (!token && policy === 'optional')) return { app, expiresAt: Infinity }
  if (!token) throw new PlazaError(ErrorCode.NOT_PERMITTED, `app "${app}" wants a token (?token=)`)
  const secret = cfg.apps[app]
  if (secret === undefined) throw new PlazaError(ErrorCode.INVALID_APP_ID, `unknown app "${app}"`)
  const claims = await verifyToken(token, secret, { appId: app, now })
  return { app, expiresAt: claims.exp * 1000 }
}
