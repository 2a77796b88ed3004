import { ErrorCode, ProtocolError } from './errors.js'

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })
/** Strings up to this many characters (bytes, when reading) take the ASCII fast path. */
const ASCII_FAST_MAX = 64

export function utf8Length(s: string): number {
  // Fast path for ASCII; exact count otherwise.
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4
      i++
    } else n += 3 // other BMP characters, and lone surrogates (encoded as U+FFFD)
  }
  return n
}

/**
 * A buffer encoders borrow to write into, one at a time (most frames are small): `finish()` copies
 * the result out and gives it back. A frame is then one allocation, not two (and a buffer over 64
 * bytes is a costly one in V8: its memory lives outside the heap).
 */
const SPARE_BYTES = 4096
let spare: Uint8Array | null = new Uint8Array(SPARE_BYTES)
/** A borrowed buffer that grew past this is not kept. */
const MAX_SPARE_BYTES = 64 * 1024

/**
 * Where finished frames get their bytes. A Node process may pass `Buffer.allocUnsafe`: frames
 * under 4 KiB then come from Node's shared 8 KiB pool instead of a malloc each (the node relays
 * thousands a second). A frame may then share its ArrayBuffer with others: no caller may rely on
 * owning `frame.buffer`.
 */
let allocate: (n: number) => Uint8Array = (n) => new Uint8Array(n)

export function setByteAllocator(fn: (n: number) => Uint8Array): void {
  allocate = fn
}

/** Growable byte writer in the manner of lib0/encoding: write, then `finish()`. */
export class Encoder {
  private buf: Uint8Array
  private pos = 0
  private borrowed = false
  constructor(initial = 64) {
    if (spare !== null && initial <= spare.length) {
      this.buf = spare
      spare = null
      this.borrowed = true
    } else this.buf = new Uint8Array(initial)
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = Math.max(64, this.buf.length * 2)
    while (size < this.pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }
  uint8(n: number): void {
    this.ensure(1)
    this.buf[this.pos++] = n & 0xff
  }
  /** Unsigned LEB128, up to Number.MAX_SAFE_INTEGER. */
  varuint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varuint out of range: ${n}`)
    this.ensure(8)
    while (n > 0x7f) {
      this.buf[this.pos++] = 0x80 | (n % 0x80)
      n = Math.floor(n / 0x80)
    }
    this.buf[this.pos++] = n
  }
  bool(b: boolean): void {
    this.uint8(b ? 1 : 0)
  }
  bytes(b: Uint8Array): void {
    this.varuint(b.length)
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }
  string(s: string): void {
    const n = s.length
    // Most strings on the wire (ids, short texts) are ASCII: written in place, with no
    // TextEncoder call and no intermediate array (a native call costs more than the copy).
    if (n <= ASCII_FAST_MAX) {
      let ascii = true
      for (let i = 0; i < n; i++) {
        if (s.charCodeAt(i) >= 0x80) {
          ascii = false
          break
        }
      }
      if (ascii) {
        this.varuint(n)
        this.ensure(n)
        const buf = this.buf
        let pos = this.pos
        for (let i = 0; i < n; i++) buf[pos++] = s.charCodeAt(i)
        this.pos = pos
        return
      }
    }
    const len = utf8Length(s)
    this.varuint(len)
    this.ensure(len)
    const { written } = textEncoder.encodeInto(s, this.buf.subarray(this.pos, this.pos + len))
    if (written !== len) throw new RangeError('utf-8 length mismatch')
    this.pos += len
  }
  /** The bytes written (a copy: the encoder's buffer goes back to the spare). */
  finish(): Uint8Array {
    const out = allocate(this.pos)
    out.set(this.buf.subarray(0, this.pos))
    if (this.borrowed) {
      this.borrowed = false
      spare = this.buf.length <= MAX_SPARE_BYTES ? this.buf : new Uint8Array(SPARE_BYTES)
      // Not this buffer any more: another encoder may be writing into it.
      this.buf = out
    }
    return out
  }
}

function malformed(what: string): ProtocolError {
  return new ProtocolError(ErrorCode.MALFORMED_FRAME, `malformed frame: ${what}`)
}

/** Strict reader: throws ProtocolError(MALFORMED_FRAME) on short input, never reads past the end. */
export class Decoder {
  private pos = 0
  constructor(private readonly buf: Uint8Array) {}
  get remaining(): number {
    return this.buf.length - this.pos
  }
  uint8(): number {
    if (this.pos >= this.buf.length) throw malformed('unexpected end')
    return this.buf[this.pos++]
  }
  varuint(): number {
    let n = 0
    let mult = 1
    for (let i = 0; i < 8; i++) {
      const b = this.uint8()
      n += (b & 0x7f) * mult
      if (b < 0x80) {
        if (!Number.isSafeInteger(n)) throw malformed('integer too large')
        return n
      }
      mult *= 0x80
    }
    throw malformed('integer too long')
  }
  bool(): boolean {
    const b = this.uint8()
    if (b > 1) throw malformed('bad boolean')
    return b === 1
  }
  /** A length-prefixed byte string of at most `max` bytes (a view, not a copy). */
  bytes(max: number): Uint8Array {
    const len = this.varuint()
    if (len > max) throw new ProtocolError(ErrorCode.FRAME_TOO_LARGE, `field of ${len} bytes exceeds ${max}`)
    if (len > this.remaining) throw malformed('unexpected end')
    const out = this.buf.subarray(this.pos, this.pos + len)
    this.pos += len
    return out
  }
  string(maxBytes: number): string {
    const len = this.varuint()
    if (len > maxBytes) throw new ProtocolError(ErrorCode.FRAME_TOO_LARGE, `field of ${len} bytes exceeds ${maxBytes}`)
    if (len > this.remaining) throw malformed('unexpected end')
    const buf = this.buf
    const start = this.pos
    const end = start + len
    this.pos = end
    if (len === 0) return ''
    // Short ASCII (ids, short texts) is read in place: no view, no TextDecoder call.
    if (len <= ASCII_FAST_MAX) {
      let i = start
      while (i < end && buf[i]! < 0x80) i++
      // One flat string (appending a character at a time builds a chain of them).
      if (i === end) return String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[])
    }
    try {
      return textDecoder.decode(buf.subarray(start, end))
    } catch {
      throw malformed('invalid utf-8')
    }
  }
  /** A count prefix for a list, refused above `max` before anything is allocated. */
  count(max: number): number {
    const n = this.varuint()
    if (n > max) throw new ProtocolError(ErrorCode.TOO_MANY_IDS, `list of ${n} exceeds ${max}`)
    return n
  }
  end(): void {
    if (this.pos !== this.buf.length) throw malformed('trailing bytes')
  }
}
