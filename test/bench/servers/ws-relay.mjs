// The least a relay can do, as a floor for the node's CPU per message: a ws server where each socket
// is a user (?uid=NAME) and a binary frame [to length][to][payload] goes to that user as
// [from length][from][payload]. No rooms, no codec, no acknowledgement of its own.
import { createServer } from 'node:http'
import { WebSocketServer } from 'ws'

const http = createServer()
const wss = new WebSocketServer({ server: http })
const users = new Map()
wss.on('connection', (ws, req) => {
  const uid = new URL(req.url, 'http://x').searchParams.get('uid')
  const me = Buffer.from(uid)
  users.set(uid, ws)
  ws.on('close', () => users.get(uid) === ws && users.delete(uid))
  ws.on('message', (data) => {
    const n = data[0]
    const to = users.get(data.toString('latin1', 1, 1 + n))
    if (!to) return
    const out = Buffer.allocUnsafe(1 + me.length + data.length - 1 - n)
    out[0] = me.length
    me.copy(out, 1)
    data.copy(out, 1 + me.length, 1 + n)
    to.send(out)
  })
})
http.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: http.address().port })))
