// A client in its own process: logs in, joins a channel, opens a direct link, then destroys
// itself. With nothing else to do, the process must exit on its own (no timer or socket left).
import { createClient } from '@plaza/client'

process.once('message', async ({ url, appId, uid, token, peer, channel }) => {
  const client = createClient(appId, { rendezvousUrl: url })
  await client.login({ uid, token })
  await client.createChannel(channel).join()
  await client.sendMessageToPeer({ text: 'hi' }, peer)
  for (let i = 0; i < 100 && client.getPeerLinkState(peer) !== 'open'; i++) await new Promise((r) => setTimeout(r, 100))
  const linked = client.getPeerLinkState(peer) === 'open'
  await client.destroy()
  process.send({ event: 'destroyed', linked })
  process.disconnect()
})
process.send({ event: 'ready' })
