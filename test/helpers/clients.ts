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
