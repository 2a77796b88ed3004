import { ErrorCode, PlazaError } from '@plaza/protocol'
import { mediaIdOf, type Sha256Factory } from './hash.js'
import type { HeldMedia } from './held.js'
import { BlobPieces, BytesPieces } from './pieces.js'

/** Where the node's media store answers, and as whom. */
export interface NodeEndpoint {
  /** e.g. http://localhost:7420/ (from the rendezvous URL the session uses). */
  baseUrl: string
  token: string
}

export function httpBase(wsUrl: string): string {
  const u = new URL(wsUrl)
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:'
  u.search = ''
  u.hash = ''
  if (!u.pathname.endsWith('/')) u.pathname += '/'
  return u.toString()
}

/** A request to the media store gives up after this long, plus a second per this many bytes it carries. */
const REQUEST_BASE_MS = 30_000
const BYTES_PER_SECOND_FLOOR = 50_000

/** A node that stops answering must not hold a transfer forever (fetch has no timeout of its own). */
function deadline(bytes: number, signal?: AbortSignal): AbortSignal {
  const t = AbortSignal.timeout(REQUEST_BASE_MS + Math.ceil(bytes / BYTES_PER_SECOND_FLOOR) * 1000)
  return signal ? AbortSignal.any([signal, t]) : t
}

function mediaUrl(ep: NodeEndpoint, mediaId: string, suffix = ''): string {
  return new URL(`media/${mediaId}${suffix}`, ep.baseUrl).toString()
}

async function errorOf(res: Response): Promise<PlazaError> {
  let code = ErrorCode.INTERNAL
  let message = `media store answered ${res.status}`
  try {
    const body = (await res.json()) as { error?: string; message?: string }
    const named = body.error ? (ErrorCode as unknown as Record<string, number>)[body.error] : undefined
    if (named !== undefined) code = named
    if (body.message) message = body.message
  } catch {
    if (res.status === 404) code = ErrorCode.MEDIA_NOT_FOUND
    else if (res.status === 413) code = ErrorCode.MEDIA_TOO_LARGE
    else if (res.status === 401) code = ErrorCode.INVALID_TOKEN
  }
  return new PlazaError(code, message)
}

const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string'

/** The file this client serves cannot be read as it was created (it shrank on disk, say): nothing can be uploaded. */
function unreadable(err: unknown): PlazaError {
  return new PlazaError(ErrorCode.MEDIA_NOT_FOUND, `this client can no longer read the file: ${err instanceof Error ? err.message : String(err)}`)
}

/** The request body of an upload: the app's Blob or bytes as they are, else the pieces streamed (Node) or gathered (browsers). */
async function uploadBody(held: HeldMedia, failed: { err: unknown }): Promise<{ body: BodyInit; stream: boolean }> {
  const store = held.store
  if (store instanceof BytesPieces) return { body: store.all as unknown as BodyInit, stream: false }
  if (store instanceof BlobPieces) return { body: (await store.read(0, held.info.size)) as unknown as BodyInit, stream: false }
  const step = held.info.pieceSize
  if (!isNode) {
    // Browsers stream request bodies only over HTTP/2: gather the pieces into a Blob.
    const parts: Uint8Array[] = []
    for (let at = 0; at < held.info.size; at += step) parts.push(await store.read(at, Math.min(step, held.info.size - at)))
    return { body: new Blob(parts as BlobPart[]), stream: false }
  }
  let at = 0
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (at >= held.info.size) return controller.close()
      const len = Math.min(step, held.info.size - at)
      try {
        controller.enqueue(await store.read(at, len))
      } catch (err) {
        failed.err = err
        return controller.error(err)
      }
      at += len
    },
  })
  return { body: body as unknown as BodyInit, stream: true }
}

/** Puts a held file in the node's media store (durable when this resolves). */
export async function uploadToNode(ep: NodeEndpoint, held: HeldMedia): Promise<void> {
  const url = `${mediaUrl(ep, held.info.mediaId)}?pieceSize=${held.info.pieceSize}`
  const head = await fetch(url, { method: 'HEAD', headers: { authorization: `Bearer ${ep.token}` }, signal: deadline(0) })
  if (head.ok) return
  const failed: { err: unknown } = { err: null }
  const { body, stream } = await uploadBody(held, failed).catch((err: unknown) => {
    throw unreadable(err)
  })
  const init: RequestInit & { duplex?: 'half' } = {
    method: 'PUT',
    headers: { authorization: `Bearer ${ep.token}`, 'content-type': 'application/octet-stream', ...(stream ? { 'content-length': String(held.info.size) } : {}) },
    body,
    signal: deadline(held.info.size),
  }
  if (stream) init.duplex = 'half'
  const res = await fetch(url, init).catch((err: unknown) => {
    throw failed.err ? unreadable(failed.err) : err
  })
  if (!res.ok) throw await errorOf(res)
}

/**
 * Fetches what `held` lacks from the node's media store: the manifest (checked against the id),
 * then each missing run of pieces with a Range request, each piece checked by `verify`.
 */
export async function downloadFromNode(
  ep: NodeEndpoint,
  held: HeldMedia,
  sha256: Sha256Factory,
  missing: () => number[],
  verify: (i: number, bytes: Uint8Array) => Promise<boolean>,
  signal: AbortSignal,
): Promise<boolean> {
  const auth = { authorization: `Bearer ${ep.token}` }
  const info = held.info
  if (!held.manifest) {
    const res = await fetch(mediaUrl(ep, info.mediaId, '/manifest'), { headers: auth, signal: deadline(held.pieces * 32, signal) })
    if (!res.ok) throw await errorOf(res)
    const manifest = new Uint8Array(await res.arrayBuffer())
    if (mediaIdOf(sha256, info.size, info.pieceSize, manifest) !== info.mediaId) {
      throw new PlazaError(ErrorCode.MEDIA_INTEGRITY, 'the media store sent a manifest that does not match the id')
    }
    held.manifest = manifest
  }
  const want = missing()
  let k = 0
  while (k < want.length) {
    let j = k
    while (j + 1 < want.length && want[j + 1] === want[j] + 1) j++
    const from = want[k] * info.pieceSize
    const to = Math.min(info.size, (want[j] + 1) * info.pieceSize) - 1
    const res = await fetch(mediaUrl(ep, info.mediaId), { headers: { ...auth, range: `bytes=${from}-${to}` }, signal: deadline(to - from + 1, signal) })
    if (!res.ok || !res.body) throw await errorOf(res)
    const reader = res.body.getReader()
    let piece = want[k]
    let buf = new Uint8Array(held.pieceLength(piece))
    let filled = 0
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      let at = 0
      while (at < value.length) {
        const n = Math.min(buf.length - filled, value.length - at)
        buf.set(value.subarray(at, at + n), filled)
        filled += n
        at += n
        if (filled === buf.length) {
          if (!(await verify(piece, buf))) throw new PlazaError(ErrorCode.MEDIA_INTEGRITY, `piece ${piece} from the media store does not match`)
          piece++
          if (piece > want[j]) break
          buf = new Uint8Array(held.pieceLength(piece))
          filled = 0
        }
      }
    }
    if (piece <= want[j]) return false
    k = j + 1
  }
  return true
}
