/**
 * The Node entry: `ws` for the WebSocket and `@roamhq/wrtc` for WebRTC, loaded when
 * installed. Without wrtc the client still works, through the relay only, and says so at login
 * (a Warning event, WEBRTC_UNAVAILABLE).
 */
import { createRequire } from 'node:module'
import { WebSocket } from 'ws'
import { createClient as createBaseClient, type ClientDeps, type PlazaClient } from './index.js'
import type { WebSocketConstructor } from './signaling/session.js'
import type { ClientOptions } from './types.js'
import { nodeMediaFiles, nodeSha256 } from './media/node-files.js'

export * from './index.js'
export { FileStorage } from './storage/file-storage.js'

let wrtc: object | null | undefined
function loadWrtc(): object | null {
  if (wrtc === undefined) {
    try {
      wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as object
    } catch {
      wrtc = null
    }
  }
  return wrtc
}

export function createClient(appId: string, options: ClientOptions, deps?: ClientDeps): PlazaClient {
  const w = options.wrtc ?? loadWrtc()
  return createBaseClient(
    appId,
    {
      ...options,
      WebSocket: options.WebSocket ?? (WebSocket as unknown as WebSocketConstructor),
      wrtc: w ?? undefined,
    },
    { mediaFiles: nodeMediaFiles, sha256: nodeSha256, ...deps },
  )
}
