import { createServer, Socket, type Server } from 'node:net'

/**
 * A TCP proxy that adds `delayMs` of latency to every chunk, both ways, keeping the order
 * (closes are delayed the same way, after the data). `hold(true)` holds everything back
 * (new connections too, without dropping a byte) until `hold(false)`.
 */
export interface DelayProxy {
  url: string
  hold(on: boolean): void
  close(): Promise<void>
}

export async function startDelayProxy(targetPort: number, delayMs: number): Promise<DelayProxy> {
  const sockets = new Set<Socket>()
  let held: (() => void)[] | null = null
  const later = (fn: () => void) => {
    if (held) held.push(fn)
    else setTimeout(fn, delayMs)
  }
  const server: Server = createServer((client) => {
    const upstream = new Socket()
    sockets.add(client).add(upstream)
    const drop = (s: Socket) => () => {
      sockets.delete(s)
      s.destroy()
    }
    client.on('error', () => undefined).on('close', () => later(drop(upstream)))
    upstream.on('error', () => undefined).on('close', () => later(drop(client)))
    upstream.connect(targetPort, '127.0.0.1')
    client.on('data', (d) => later(() => upstream.writable && upstream.write(d)))
    upstream.on('data', (d) => later(() => client.writable && client.write(d)))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const port = (server.address() as { port: number }).port
  return {
    url: `ws://127.0.0.1:${port}`,
    hold(on) {
      if (on) {
        held ??= []
        return
      }
      const queued = held ?? []
      held = null
      for (const fn of queued) setTimeout(fn, delayMs)
    },
    async close() {
      held = null
      for (const s of sockets) s.destroy()
      sockets.clear()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}
