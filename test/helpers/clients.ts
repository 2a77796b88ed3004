import { createClient, type ClientOptions, type PlazaClient } from '@plaza/client'
import { APP_ID, type RendezvousProcess } from './rendezvous.js'

const made: PlazaClient[] = []

/** A logged-in client (Node: ws + @roamhq/wrtc). */
export async function loggedIn(node: RendezvousProcess, uid: string, opts: Partial<ClientOptions> = {}): Promise<PlazaClient> {
  const client = makeClient(node, opts)
  await client.login({ uid, token: await node.token(uid) })
  return client
}

export function makeClient(node: RendezvousProcess, opts: Partial<ClientOptions> = {}): PlazaClient {
  const client = createClient(APP_ID, { rendezvousUrl: node.url, reconnectMinMs: 200, reconnectMaxMs: 1000, ...opts })
  made.push(client)
  return client
}

/** Logs out every client made so far (afterEach). */
export async function closeClients(): Promise<void> {
  const all = made.splice(0)
  await Promise.all(all.map((c) => c.logout().catch(() => undefined)))
}

/** Resolves when the direct link from `client` to `peerId` is open (now or later). */
export async function linkOpen(client: PlazaClient, peerId: string, timeoutMs = 20_000): Promise<void> {
  if (client.getPeerLinkState(peerId) === 'open') return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('PeerLinkStateChanged', fn)
      reject(new Error(`link to ${peerId} did not open in ${timeoutMs} ms`))
    }, timeoutMs)
    const fn = (peer: string, state: string) => {
      if (peer !== peerId || state !== 'open') return
      clearTimeout(timer)
      client.off('PeerLinkStateChanged', fn)
      resolve()
    }
    client.on('PeerLinkStateChanged', fn)
  })
}
