// A sender in its own process, so that it can be killed (SIGKILL) like a closed browser tab:
// it logs in with a FileStorage outbox, sends `count` peer messages without awaiting them,
// makes sure the outbox is on disk, and reports { event: 'flushed' }.
import { createClient, FileStorage } from '@plaza/client'

process.once('message', async ({ url, appId, uid, token, dir, to, count }) => {
  try {
    const client = createClient(appId, { rendezvousUrl: url, storage: new FileStorage(dir), directLinks: false, messageTimeoutMs: 60_000 })
    await client.login({ uid, token })
    for (let i = 0; i < count; i++) void client.sendMessageToPeer({ text: `old${i}` }, to)
    await client.flushStorage()
    process.send({ event: 'flushed' })
  } catch (err) {
    process.send({ event: 'error', error: String(err?.message ?? err) })
  }
})
process.send({ event: 'ready' })
