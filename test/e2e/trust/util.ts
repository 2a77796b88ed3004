import type { RendezvousProcess } from '../../helpers/rendezvous.js'

/** The value of a counter or gauge (without labels) from the node's /metrics. */
export async function metric(node: RendezvousProcess, name: string): Promise<number> {
  const text = await (await fetch(`${node.httpUrl}/metrics`)).text()
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
  return m ? Number(m[1]) : 0
}

/** The text of a received TEXT message ('' for other kinds). */
export const textOf = (m: { messageType: string; text?: string }): string => (m.messageType === 'TEXT' ? (m.text ?? '') : '')
