import { ErrorCode, PlazaError, type MediaMessage, type PlazaChannel, type PlazaClient } from '@plaza/client'

/** Images up to this size are fetched as soon as their message arrives; larger ones on a click. */
export const AUTO_DOWNLOAD_BYTES = 10 * 1024 * 1024
/** The thumbnail that travels inside an image message. */
const THUMB_PX = 160
const THUMB_MAX_BYTES = 16 * 1024

type El = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Record<string, string>, ...kids: (Node | string)[]) => HTMLElementTagNameMap[K]

export interface MediaUiHost {
  client: PlazaClient
  channel: PlazaChannel
  me: string
  el: El
  /** Adds an entry to the chat log; `body` follows the sender's name. */
  log(from: string, body: string | Node, kind?: string): HTMLElement
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

/** "MEDIA_UNAVAILABLE (62): no holder …" — what the app shows for a failure. */
export function describeError(err: unknown): { code: string; text: string } {
  if (err instanceof PlazaError || (err && typeof (err as PlazaError).code === 'number')) {
    const e = err as PlazaError
    const name = ErrorCode[e.code] ?? String(e.code)
    return { code: name, text: `${name} (${e.code}): ${e.message}` }
  }
  return { code: 'ERROR', text: String((err as Error)?.message ?? err) }
}

/** A small JPEG of the image (≤ 160 px, ≤ 16 KiB), and the image's own size; null if the browser cannot decode it. */
export async function makeThumbnail(file: Blob): Promise<{ thumbnail: Uint8Array; width: number; height: number } | null> {
  let bitmap: ImageBitmap
  try {
    bitmap = await createImageBitmap(file)
  } catch {
    return null
  }
  const { width, height } = bitmap
  try {
    for (let px = THUMB_PX; px >= 40; px = Math.floor(px * 0.75)) {
      const scale = Math.min(1, px / Math.max(width, height))
      const canvas = document.createElement('canvas')
      canvas.width = Math.max(1, Math.round(width * scale))
      canvas.height = Math.max(1, Math.round(height * scale))
      const ctx = canvas.getContext('2d')!
      ctx.fillStyle = '#fff' // JPEG has no alpha
      ctx.fillRect(0, 0, canvas.width, canvas.height)
      ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height)
      for (let q = 0.8; q >= 0.2; q -= 0.15) {
        const blob = await new Promise<Blob | null>((r) => canvas.toBlob(r, 'image/jpeg', q))
        if (blob && blob.size <= THUMB_MAX_BYTES) return { thumbnail: new Uint8Array(await blob.arrayBuffer()), width, height }
      }
    }
    return null
  } finally {
    bitmap.close()
  }
}

/**
 * Images and files in the chat: the attach controls, sending (to the room or to one member),
 * and each media message's entry (thumbnail then the image; a download with progress, cancel
 * and resume; the finished file as a link).
 */
export class MediaUi {
  constructor(private readonly h: MediaUiHost) {}

  /** The row under the chat box: pick a file, send it to whoever the chat is addressed to. */
  controls(target: () => string): HTMLElement {
    const { el } = this.h
    const input = el('input', { type: 'file', 'data-testid': 'attach-input' })
    const button = el('button', { type: 'button', class: 'secondary', 'data-testid': 'attach-send' }, 'Attach')
    button.addEventListener('click', () => {
      const file = input.files?.[0]
      if (!file) return input.click()
      input.value = ''
      void this.send(file, target())
    })
    return el('div', { class: 'attach' }, input, button)
  }

  /** Makes a media message of `file` and sends it to `to` (a member) or, when empty, to the room. */
  async send(file: File, to: string): Promise<void> {
    const { client, channel, el } = this.h
    const image = file.type.startsWith('image/')
    const status = el('span', { class: 'muted', 'data-testid': 'media-preparing' }, `preparing ${file.name} (${formatBytes(file.size)})…`)
    const entry = this.h.log(this.h.me, el('span', {}, to ? `→ ${to}: ` : '', status), to ? 'private pending media-entry' : 'mine pending media-entry')
    try {
      const thumb = image ? await makeThumbnail(file) : null
      const msg = await client.createMediaMessage(file, {
        messageType: image ? 'IMAGE' : 'FILE',
        fileName: file.name,
        mimeType: file.type || undefined,
        ...(thumb ?? {}),
      })
      entry.dataset.mediaId = msg.mediaId
      status.replaceWith(this.body(msg, URL.createObjectURL(file)))
      if (to) {
        const r = await client.sendMessageToPeer(msg, to, { enableOfflineMessaging: true })
        entry.dataset.result = r.state
      } else {
        await channel.sendMessage(msg)
        entry.dataset.result = 'SENT'
      }
    } catch (err) {
      const { code, text } = describeError(err)
      entry.append(' ', el('span', { class: 'warn', 'data-testid': 'media-error', 'data-code': code }, `Not sent: ${text}`))
    } finally {
      entry.classList.remove('pending')
    }
  }

  /** A media message from someone: its entry in the log. */
  received(m: MediaMessage, from: string, privately: boolean): HTMLElement {
    const entry = this.h.log(from, this.body(m, null), privately ? 'private media-entry' : 'media-entry')
    entry.dataset.mediaId = m.mediaId
    return entry
  }

  /** The entry's body: `local` is an object URL of the bytes when this page has them already (its own message). */
  private body(m: MediaMessage, local: string | null): HTMLElement {
    return m.messageType === 'IMAGE' ? this.image(m, local) : this.file(m, local)
  }

  private image(m: MediaMessage, local: string | null): HTMLElement {
    const { el } = this.h
    const img = el('img', { class: 'media-image', alt: m.fileName, 'data-testid': 'media-image', 'data-media-id': m.mediaId })
    if (m.width && m.height) {
      // Reserve the space at once (the thumbnail is scaled up into it).
      const w = Math.min(240, m.width)
      img.width = w
      img.height = Math.round((m.height * w) / m.width)
    }
    const fig = el('figure', { class: 'media', 'data-media-id': m.mediaId }, img, el('figcaption', { class: 'muted' }, `${m.fileName} · ${formatBytes(m.size)}`))
    // The log stays at its newest entry as images arrive and grow.
    img.addEventListener('load', () => {
      const log = img.closest('ol')
      if (log) log.scrollTop = log.scrollHeight
    })
    if (local) {
      img.src = local
      img.dataset.state = 'full'
      return fig
    }
    if (m.thumbnail.length) {
      const thumb = URL.createObjectURL(new Blob([m.thumbnail as BlobPart], { type: 'image/jpeg' }))
      img.src = thumb
      img.dataset.thumb = thumb
      img.dataset.state = 'thumb'
    } else {
      img.dataset.state = 'none'
    }
    const d = this.downloader(m, fig, 'Load full image', (url) => {
      img.src = url
      img.dataset.state = 'full'
    })
    if (m.size <= AUTO_DOWNLOAD_BYTES) d.start()
    return fig
  }

  private file(m: MediaMessage, local: string | null): HTMLElement {
    const { el } = this.h
    const name = el('span', { class: 'media-name' }, m.fileName)
    const box = el('span', { class: 'media media-file', 'data-media-id': m.mediaId }, el('span', { class: 'badge file' }, 'file'), name, ` · ${formatBytes(m.size)}`)
    const link = (url: string) => {
      const a = el('a', { href: url, download: m.fileName, 'data-testid': 'media-link' }, m.fileName)
      name.replaceWith(a)
    }
    if (local) link(local)
    else this.downloader(m, box, 'Download', link)
    return box
  }

  /** Download / Cancel / Resume buttons and a progress bar inside `box`; `done` gets an object URL of the bytes. */
  private downloader(m: MediaMessage, box: HTMLElement, label: string, done: (url: string) => void): { start(): void } {
    const { client, el } = this.h
    const button = el('button', { type: 'button', class: 'small', 'data-testid': 'media-download' }, label)
    const cancel = el('button', { type: 'button', class: 'small secondary', 'data-testid': 'media-cancel', hidden: '' }, 'Cancel')
    const progress = el('progress', { max: String(m.size), value: '0', 'data-testid': 'media-progress', hidden: '' })
    const error = el('span', { class: 'warn', 'data-testid': 'media-error', hidden: '' })
    box.append(' ', button, ' ', progress, ' ', cancel, ' ', error)
    let abort: AbortController | null = null
    const start = () => {
      if (abort) return
      abort = new AbortController()
      button.hidden = true
      cancel.hidden = false
      progress.hidden = false
      error.hidden = true
      box.dataset.state = 'downloading'
      client
        .downloadMedia(m, {
          signal: abort.signal,
          onProgress: ({ loaded, total }) => {
            progress.max = total
            progress.value = loaded
            progress.dataset.loaded = String(loaded)
          },
        })
        .then(
          (blob) => {
            abort = null
            box.dataset.state = 'done'
            button.remove()
            cancel.remove()
            progress.value = m.size
            progress.hidden = true
            done(URL.createObjectURL(blob))
          },
          (err: unknown) => {
            abort = null
            const { code, text } = describeError(err)
            box.dataset.state = 'failed'
            error.textContent = code === 'CANCELLED' ? `Cancelled: ${text}` : text
            error.dataset.code = code
            error.hidden = false
            cancel.hidden = true
            // What was verified is kept: the same button resumes from there.
            button.textContent = 'Resume'
            button.hidden = false
          },
        )
    }
    button.addEventListener('click', start)
    cancel.addEventListener('click', () => abort?.abort())
    return { start }
  }
}
