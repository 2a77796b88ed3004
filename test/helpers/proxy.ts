import { createServer, Socket, type Server } from 'node:net'

/**
 * A TCP proxy between a client and a node, to cut or silence a real connection:
 * `cut()` resets every connection; `blackhole(true)` keeps them open but drops all bytes
 * (a silent network), and new connections hang the same way until `blackhole(false)`.
 */
export interface TcpProxy {
  port: number
  url: string
  cut(): void
  blackhole(on: boolean): void
  close(): Promise<void>
}

export async function startProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>()
  let holed = false
  const server: Server = createServer((client) => {
    const upstream = new Socket()
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    const end = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    upstream.connect(targetPort, '127.0.0.1')
    client.on('data', (d) => {
      if (!holed) upstream.write(d)
    })
    upstream.on('data', (d) => {
      if (!holed) client.write(d)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const port = (server.address() as { port: number }).port
  const proxy: TcpProxy = {
    port,
    url: `ws://127.0.0.1:${port}`,
    cut() {
      for (const [a, b] of pairs) {
        a.resetAndDestroy()
        b.destroy()
      }
      pairs.clear()
    },
    blackhole(on) {
      holed = on
    },
    async close() {
      this.cut()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
  return proxy
}
