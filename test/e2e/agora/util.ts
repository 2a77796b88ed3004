import AgoraRTM, { RtmError, type RtmClient, type RtmConfig } from '@plaza/agora-rtm'
import { APP_ID, type RendezvousProcess } from '../../helpers/rendezvous.js'

const made: RtmClient[] = []

/** An agora-rtm-sdk 1.x client (this module's) pointed at `node`; closed by closeAgora(). */
export function agoraClient(node: RendezvousProcess, config: RtmConfig = {}): RtmClient {
  const client = AgoraRTM.createInstance(APP_ID, {
    rendezvousUrl: node.url,
    ...config,
    clientOptions: { reconnectMinMs: 200, reconnectMaxMs: 1000, ...config.clientOptions },
  })
  made.push(client)
  return client
}

export async function agoraLoggedIn(node: RendezvousProcess, uid: string, config: RtmConfig = {}): Promise<RtmClient> {
  const client = agoraClient(node, config)
  await client.login({ uid, token: await node.token(uid) })
  return client
}

/** Ends every client made so far (afterEach). */
export async function closeAgora(): Promise<void> {
  await Promise.all(made.splice(0).map((c) => c.plaza.destroy().catch(() => undefined)))
}

/** The SDK-shaped error a promise rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<RtmError> {
  const outcome = await p.then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  )
  if (outcome.ok) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.v)}`)
  if (!(outcome.e instanceof RtmError)) throw new Error(`expected an RtmError, got ${String(outcome.e)}`)
  return outcome.e
}

/** The SDK-shaped error a call throws at once. */
export function thrown(fn: () => unknown): RtmError {
  try {
    fn()
  } catch (e) {
    if (e instanceof RtmError) return e
    throw new Error(`expected an RtmError, got ${String(e)}`)
  }
  throw new Error('expected it to throw')
}
