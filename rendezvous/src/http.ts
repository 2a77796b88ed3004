import { timingSafeEqual } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'
import { isValidId, mintToken } from '@plaza/protocol'
import type { RendezvousNode } from './node.js'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** Health, the development token endpoint, and the demo's static files. */
export async function handleHttp(node: RendezvousNode, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost')
  try {
    if (url.pathname === '/healthz') return json(res, 200, { status: 'ok' })
    if (url.pathname === '/readyz') {
      const health = node.engine.health()
      if (!health.ok) return json(res, 503, { status: 'unavailable', reason: health.reason, ...node.stats() })
      return json(res, 200, { status: 'ready', ...node.stats() })
    }
    if (url.pathname === '/dev/token') return await devToken(node, url, res)
    if (url.pathname === '/metrics') {
      if (!metricsAllowed(node.config.metricsToken, req.headers.authorization)) {
        res.setHeader('www-authenticate', 'Bearer')
        return json(res, 401, { error: 'INVALID_TOKEN', message: 'GET /metrics wants Authorization: Bearer <--metrics-token>' })
      }
      const text = await node.metrics.registry.metrics()
      res.writeHead(200, { 'content-type': node.metrics.registry.contentType })
      return void res.end(text)
    }
    if (url.pathname === '/media' || url.pathname.startsWith('/media/')) return await node.media.handle(req, res, url)
    // Others: their body (REST: at most 64 KiB) within a deadline, as Node's requestTimeout would.
    if (!req.complete) guardBody(req, res)
    if (req.headers.expect?.toLowerCase() === '100-continue') res.writeContinue()
    if (url.pathname.startsWith('/v1/')) return await node.rest.handle(req, res, url)
    if (req.method === 'GET' && node.config.staticDir) return await serveStatic(node.config.staticDir, url.pathname, res)
    json(res, 404, { error: 'NOT_FOUND' })
  } catch (err) {
    node.log.error({ err }, 'http handler failed')
    if (!res.headersSent) json(res, 500, { error: 'INTERNAL' })
    else res.destroy()
  }
}

/** A request body (other than media's) must be in this soon. */
const REQUEST_BODY_MS = 60_000

function guardBody(req: IncomingMessage, res: ServerResponse): void {
  const timer = setTimeout(() => {
    if (!req.complete) req.socket.destroy()
  }, REQUEST_BODY_MS).unref()
  res.once('close', () => clearTimeout(timer))
}

function metricsAllowed(token: string, authorization: string | undefined): boolean {
  if (!token) return true
  const given = Buffer.from(authorization ?? '')
  const wanted = Buffer.from(`Bearer ${token}`)
  return given.length === wanted.length && timingSafeEqual(given, wanted)
}

/** Mints a token for the first configured app. Off unless the node runs with devTokens. */
async function devToken(node: RendezvousNode, url: URL, res: ServerResponse): Promise<void> {
  const appId = Object.keys(node.config.apps)[0]
  if (!node.config.devTokens || appId === undefined) return json(res, 404, { error: 'NOT_FOUND' })
  const uid = url.searchParams.get('uid')
  if (!isValidId(uid)) return json(res, 400, { error: 'INVALID_USER_ID', message: 'uid: 1-64 printable ASCII characters' })
  // The demo's roles: a teacher moderates any room, a student is shown as one.
  const role = url.searchParams.get('role')
  const grants = role === 'teacher' ? { role, moderate: ['*'] } : role === 'student' ? { role } : undefined
  const token = await mintToken(node.config.apps[appId], { appId, uid, ttlSeconds: 3600, grants })
  json(res, 200, { appId, uid, token })
}

async function serveStatic(root: string, pathname: string, res: ServerResponse): Promise<void> {
  const rel = normalize(decodeURIComponent(pathname)).replace(/^([/\\])+/, '')
  let file = join(root, rel)
  if (!file.startsWith(normalize(root) + sep) && file !== normalize(root)) return json(res, 403, { error: 'FORBIDDEN' })
  let info = await stat(file).catch(() => null)
  if (info?.isDirectory()) {
    file = join(file, 'index.html')
    info = await stat(file).catch(() => null)
  }
  if (!info?.isFile()) return json(res, 404, { error: 'NOT_FOUND' })
  const stream = createReadStream(file)
  // A read error (a file gone or unreadable mid-way) ends this response only, never the node.
  stream.on('error', (err) => {
    if (!res.headersSent) json(res, 500, { error: 'INTERNAL' })
    else res.destroy(err)
  })
  stream.once('open', () => {
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': info.size })
    stream.pipe(res)
  })
}
