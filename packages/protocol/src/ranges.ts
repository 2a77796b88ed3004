/** Inclusive ranges of sequence numbers, as acknowledgements and offline drop notices carry them. */
import type { Decoder, Encoder } from './binary.js'
import { ErrorCode, ProtocolError } from './errors.js'
import { MAX_SEQ_RANGES } from './limits.js'

/** An inclusive range of sequence numbers [first, last]. */
export type SeqRange = [first: number, last: number]

export function writeRanges(e: Encoder, ranges: SeqRange[]): void {
  e.varuint(ranges.length)
  for (const [a, b] of ranges) {
    e.varuint(a)
    e.varuint(b - a)
  }
}

/** Sequence ranges, each [first, last] with first ≥ 1 (written as first and length − 1). */
export function readRanges(d: Decoder): SeqRange[] {
  const n = d.count(MAX_SEQ_RANGES)
  const out: SeqRange[] = []
  for (let i = 0; i < n; i++) {
    const a = d.varuint()
    const span = d.varuint()
    if (a < 1 || !Number.isSafeInteger(a + span)) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'bad sequence range')
    out.push([a, a + span])
  }
  return out
}
