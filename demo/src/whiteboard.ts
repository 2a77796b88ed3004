import * as Y from 'yjs'
import type { PlazaChannel, PlazaClient } from '@plaza/client'

/** A stroke: colour and flattened x,y points in canvas units (0..1000 × 0..600). */
interface Stroke {
  c: string
  p: number[]
}

const MAX_POINTS = 1500
const CHUNK = 30 * 1024

/**
 * A shared whiteboard: strokes in a Yjs document. Updates travel as channel messages over the
 * mesh (raw, described "wb"); a newcomer sends its state vector ("wb-sv") and each member
 * answers privately with what it lacks ("wb-state", in chunks under the 32 KB message limit).
 */
export class Whiteboard {
  readonly doc = new Y.Doc()
  private readonly strokes = this.doc.getArray<Stroke>('strokes')
  private readonly ctx: CanvasRenderingContext2D
  private readonly chunks = new Map<string, Uint8Array[]>()
  private drawing: number[] | null = null

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly client: PlazaClient,
    private readonly channel: PlazaChannel,
    private readonly color: string,
    private readonly onChange: (count: number) => void,
  ) {
    this.ctx = canvas.getContext('2d')!
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== 'remote') void this.channel.sendMessage({ messageType: 'RAW', rawMessage: update, description: 'wb' }).catch(() => undefined)
    })
    this.strokes.observe(() => this.render())
    this.listen()
    this.render()
  }

  /** Asks the room for the strokes drawn before we came. */
  requestState(): void {
    void this.channel.sendMessage({ messageType: 'RAW', rawMessage: Y.encodeStateVector(this.doc), description: 'wb-sv' }).catch(() => undefined)
  }

  /** A raw channel or peer message; true if it was the whiteboard's. */
  onMessage(from: string, bytes: Uint8Array, description: string): boolean {
    if (description === 'wb') {
      Y.applyUpdate(this.doc, bytes, 'remote')
    } else if (description === 'wb-sv') {
      const update = Y.encodeStateAsUpdate(this.doc, bytes)
      const n = Math.ceil(update.length / CHUNK)
      if (this.strokes.length === 0) return true
      for (let i = 0; i < n; i++) {
        void this.client.sendMessageToPeer(
          { messageType: 'RAW', rawMessage: update.slice(i * CHUNK, (i + 1) * CHUNK), description: `wb-state:${i}/${n}` },
          from,
        )
      }
    } else if (description.startsWith('wb-state:')) {
      const [i, n] = description.slice(9).split('/').map(Number)
      const parts = this.chunks.get(from) ?? []
      parts[i] = bytes
      this.chunks.set(from, parts)
      if (parts.filter(Boolean).length === n) {
        this.chunks.delete(from)
        const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0))
        let at = 0
        for (const p of parts) {
          all.set(p, at)
          at += p.length
        }
        Y.applyUpdate(this.doc, all, 'remote')
      }
    } else return false
    return true
  }

  /** Draws a stroke as if by hand (tests and the "demo stroke" button). */
  addStroke(points: number[]): void {
    this.strokes.push([{ c: this.color, p: points.slice(0, MAX_POINTS * 2) }])
  }

  private listen(): void {
    const pos = (e: PointerEvent) => {
      const r = this.canvas.getBoundingClientRect()
      return [Math.round(((e.clientX - r.left) / r.width) * 1000), Math.round(((e.clientY - r.top) / r.height) * 600)]
    }
    this.canvas.addEventListener('pointerdown', (e) => {
      this.canvas.setPointerCapture(e.pointerId)
      this.drawing = pos(e)
    })
    this.canvas.addEventListener('pointermove', (e) => {
      if (!this.drawing || this.drawing.length >= MAX_POINTS * 2) return
      this.drawing.push(...pos(e))
      this.render()
    })
    const end = () => {
      if (this.drawing && this.drawing.length >= 4) this.addStroke(this.drawing)
      this.drawing = null
    }
    this.canvas.addEventListener('pointerup', end)
    this.canvas.addEventListener('pointercancel', end)
  }

  private render(): void {
    const { ctx, canvas } = this
    ctx.clearRect(0, 0, canvas.width, canvas.height)
    const sx = canvas.width / 1000
    const sy = canvas.height / 600
    const line = (c: string, p: number[]) => {
      ctx.strokeStyle = c
      ctx.lineWidth = 3
      ctx.lineCap = 'round'
      ctx.beginPath()
      for (let i = 0; i < p.length; i += 2) (i ? ctx.lineTo : ctx.moveTo).call(ctx, p[i] * sx, p[i + 1] * sy)
      ctx.stroke()
    }
    for (const s of this.strokes.toArray()) line(s.c, s.p)
    if (this.drawing) line(this.color, this.drawing)
    this.onChange(this.strokes.length)
  }
}
