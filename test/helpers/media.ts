/** Files and HTTP for the media store's tests: seeded random files, their ids, uploads and downloads. */
import { createCipheriv, createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { request, type IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { mediaIdInput } from '@plaza/protocol'
import type { MediaMessage, PlazaChannel, PlazaClient, ReceivedMessage } from '@plaza/client'

export const PIECE = 256 * 1024

/** Pseudo-random bytes from a seed (AES-256-CTR over zeros): fast, and the same for the same seed. */
export function seededStream(seed: string, size: number): Readable {
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16))
  const zeros = Buffer.alloc(1024 * 1024)
  let left = size
  return new Readable({
    read() {
      if (left === 0) return void this.push(null)
      const n = Math.min(left, zeros.length)
      left -= n
      this.push(cipher.update(zeros.subarray(0, n)))
    },
  })
}

export async function writeSeededFile(path: string, seed: string, size: number): Promise<void> {
  await pipeline(seededStream(seed, size), createWriteStream(path))
}

export interface Described {
  mediaId: string
  size: number
  pieceSize: number
  sha256: string
  manifest: Buffer
}

/** The media id of a stream's bytes, hashed as the client does. */
export async function describe(source: Readable | string, pieceSize = PIECE): Promise<Described> {
  const stream = typeof source === 'string' ? createReadStream(source) : source
  const whole = createHash('sha256')
  const digests: Buffer[] = []
  let piece = createHash('sha256')
  let inPiece = 0
  let size = 0
  for await (const chunk of stream) {
    const b = chunk as Buffer
    whole.update(b)
    size += b.length
    for (let at = 0; at < b.length; ) {
      const take = Math.min(pieceSize - inPiece, b.length - at)
      piece.update(b.subarray(at, at + take))
      inPiece += take
      at += take
      if (inPiece === pieceSize) {
        digests.push(piece.digest())
        piece = createHash('sha256')
        inPiece = 0
      }
    }
  }
  if (inPiece) digests.push(piece.digest())
  const manifest = Buffer.concat(digests)
  const mediaId = createHash('sha256').update(mediaIdInput(size, pieceSize, manifest)).digest('base64url')
  return { mediaId, size, pieceSize, sha256: whole.digest('hex'), manifest }
}

export interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
  json: Record<string, unknown>
  /** The request side failed after the answer came (the node closed while we were still sending). */
  sendError?: Error
}

export interface PutOptions {
  token?: string
  pieceSize?: number
  headers?: Record<string, string>
  /** Send `Expect: 100-continue` and the body only when told to. */
  expectContinue?: boolean
  /** Called on each chunk sent (to abort mid-way, say). */
  onSent?: (bytes: number, req: ReturnType<typeof request>) => void
}

/** PUT /media/{id} with a body from a file, a buffer or a stream; resolves with the answer (even if the node stopped reading early). */
export function put(base: string, mediaId: string, body: string | Buffer | Readable, opts: PutOptions = {}): Promise<Answer> {
  const url = new URL(`/media/${mediaId}?pieceSize=${opts.pieceSize ?? PIECE}`, base)
  const headers: Record<string, string> = { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers }
  if (Buffer.isBuffer(body) && !headers['content-length'] && !headers['transfer-encoding']) headers['content-length'] = String(body.length)
  if (opts.expectContinue) headers.expect = '100-continue'
  return new Promise((resolve, reject) => {
    let sendError: Error | undefined
    let answered = false
    const req = request(url, { method: 'PUT', headers }, (res) => {
      answered = true
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', () => undefined)
      res.on('close', () => {
        const buf = Buffer.concat(chunks)
        let json: Record<string, unknown> = {}
        try {
          json = JSON.parse(buf.toString('utf8'))
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: buf, json, sendError })
      })
    })
    req.on('error', (err) => {
      sendError = err
      // No answer will come.
      if (!answered) reject(err)
    })
    const start = () => {
      const source = typeof body === 'string' ? createReadStream(body) : Buffer.isBuffer(body) ? Readable.from([body]) : body
      let sent = 0
      source.on('data', (c: Buffer) => {
        sent += c.length
        opts.onSent?.(sent, req)
      })
      source.on('error', (err: Error) => req.destroy(err))
      source.pipe(req)
    }
    if (opts.expectContinue) {
      req.on('continue', start)
      req.flushHeaders()
    } else start()
  })
}

/** GET or HEAD (or any method) with a bearer token; the body hashed as it streams, kept only if small. */
export function fetchMedia(
  base: string,
  path: string,
  opts: { method?: string; token?: string; headers?: Record<string, string>; keep?: boolean } = {},
): Promise<Answer & { sha256: string; length: number }> {
  const headers = { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers }
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method: opts.method ?? 'GET', headers }, (res) => {
      const hash = createHash('sha256')
      const chunks: Buffer[] = []
      let length = 0
      res.on('data', (c: Buffer) => {
        hash.update(c)
        length += c.length
        if (opts.keep || length <= 1 << 20) chunks.push(c)
      })
      res.on('end', () => {
        const body = Buffer.concat(chunks)
        let json: Record<string, unknown> = {}
        try {
          json = JSON.parse(body.toString('utf8'))
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json, sha256: hash.digest('hex'), length })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

export async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex')
}

/** Resident set size of a process, in MiB (Linux). */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0)
  return kb / 1024
}


export const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

const isMedia = (m: ReceivedMessage): m is MediaMessage => m.messageType === 'FILE' || m.messageType === 'IMAGE'

/** The next media message `c` receives (as a peer message). */
export function nextMedia(c: PlazaClient): Promise<MediaMessage> {
  return new Promise((resolve) => {
    const fn = (m: ReceivedMessage) => {
      if (!isMedia(m)) return
      c.off('MessageFromPeer', fn)
      resolve(m)
    }
    c.on('MessageFromPeer', fn)
  })
}

/** The next media message sent to channel `ch`. */
export function nextChannelMedia(ch: PlazaChannel): Promise<MediaMessage> {
  return new Promise((resolve) => {
    const fn = (m: ReceivedMessage) => {
      if (!isMedia(m)) return
      ch.off('ChannelMessage', fn)
      resolve(m)
    }
    ch.on('ChannelMessage', fn)
  })
}
