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

/** `a` and `b` as one sorted list of disjoint, non-adjacent ranges, keeping the highest `max`. */
export function mergeRanges(a: readonly SeqRange[], b: readonly SeqRange[], max: number = MAX_SEQ_RANGES): SeqRange[] {
  const all = [...a, ...b].map((r) => [r[0], r[1]] as SeqRange).sort((x, y) => x[0] - y[0])
  const merged: SeqRange[] = []
  for (const r of all) {
    const last = merged[merged.length - 1]
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1])
    else merged.push(r)
  }
  return merged.slice(-max)
}

/** Whether two range lists are the same. */
export function sameRanges(a: readonly SeqRange[], b: readonly SeqRange[]): boolean {
  return a.length === b.length && a.every((r, i) => r[0] === b[i][0] && r[1] === b[i][1])
}
