import { ErrorCode, ProtocolError } from './errors.js'

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

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

/** Growable byte writer in the manner of lib0/encoding: write, then `finish()`. */
export class Encoder {
  private buf: Uint8Array
  private pos = 0
  constructor(initial = 64) {
    this.buf = new Uint8Array(initial)
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
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
    this.bytes(textEncoder.encode(s))
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos)
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
    const b = this.bytes(maxBytes)
    try {
      return textDecoder.decode(b)
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
