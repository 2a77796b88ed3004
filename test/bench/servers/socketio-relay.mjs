// A Socket.IO relay, the usual way to pass messages between two users through a server:
// each socket joins a room named after its user, and a message is emitted to the target's room.
import { createServer } from 'node:http'
import { Server } from 'socket.io'

const http = createServer()
const io = new Server(http, { transports: ['websocket'] })
io.on('connection', (socket) => {
  socket.on('join', (uid) => {
    socket.data.uid = uid
    socket.join(uid)
  })
  socket.on('msg', (to, payload) => io.to(to).emit('msg', socket.data.uid, payload))
})
http.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: http.address().port })))
