/**
 * Attribute limits and the verbs' semantics, shared by the client (checks before sending) and
 * the node (checks before storing). Pure.
 */
import { utf8Length } from './binary.js'
import { ErrorCode, PlazaError } from './errors.js'
import {
  MAX_ATTRIBUTE_KEYS,
  MAX_ATTRIBUTE_KEY_BYTES,
  MAX_ATTRIBUTE_VALUE_BYTES,
  MAX_CHANNEL_ATTRIBUTES_BYTES,
  MAX_USER_ATTRIBUTES_BYTES,
} from './limits.js'

export enum AttributeOp {
  /** Replace all attributes with these. */
  SET = 0,
  /** Add these keys or update their values; keep the others. */
  ADD_OR_UPDATE = 1,
  /** Delete these keys. */
  DELETE_KEYS = 2,
  /** Delete all. */
  CLEAR = 3,
}

/** A channel attribute as readers see it. */
export interface ChannelAttribute {
  value: string
  lastUpdateUserId: string
  lastUpdateTs: number
}

export type AttributeScope = 'user' | 'channel'

const totalCap = (scope: AttributeScope) => (scope === 'user' ? MAX_USER_ATTRIBUTES_BYTES : MAX_CHANNEL_ATTRIBUTES_BYTES)

export function checkAttributeKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || utf8Length(key) > MAX_ATTRIBUTE_KEY_BYTES || /[\u0000-\u001f]/.test(key)) {
    throw new PlazaError(ErrorCode.INVALID_ATTRIBUTE_KEY, `attribute keys are 1-${MAX_ATTRIBUTE_KEY_BYTES} bytes: ${JSON.stringify(key)}`)
  }
}

/** Checks the arguments of a write (each key and value) before anything changes. */
export function checkAttributeWrite(op: AttributeOp, attrs: Record<string, string>, keys: string[]): void {
  if (op === AttributeOp.SET || op === AttributeOp.ADD_OR_UPDATE) {
    if (typeof attrs !== 'object' || attrs === null) throw new PlazaError(ErrorCode.INVALID_ARGUMENT, 'attributes must be an object')
    const entries = Object.entries(attrs)
    if (entries.length > MAX_ATTRIBUTE_KEYS) {
      throw new PlazaError(ErrorCode.ATTRIBUTES_TOO_LARGE, `at most ${MAX_ATTRIBUTE_KEYS} attributes`)
    }
    for (const [k, v] of entries) {
      checkAttributeKey(k)
      if (typeof v !== 'string') throw new PlazaError(ErrorCode.INVALID_ARGUMENT, `attribute ${k}: value must be a string`)
      if (utf8Length(v) > MAX_ATTRIBUTE_VALUE_BYTES) {
        throw new PlazaError(ErrorCode.ATTRIBUTES_TOO_LARGE, `attribute ${k}: value over ${MAX_ATTRIBUTE_VALUE_BYTES} bytes`)
      }
    }
  } else if (op === AttributeOp.DELETE_KEYS) {
    if (!Array.isArray(keys) || keys.length === 0) throw new PlazaError(ErrorCode.INVALID_ARGUMENT, 'a non-empty list of keys')
    if (keys.length > MAX_ATTRIBUTE_KEYS) throw new PlazaError(ErrorCode.INVALID_ARGUMENT, `at most ${MAX_ATTRIBUTE_KEYS} keys`)
    for (const k of keys) checkAttributeKey(k)
  } else if (op !== AttributeOp.CLEAR) {
    throw new PlazaError(ErrorCode.INVALID_ARGUMENT, 'unknown attribute operation')
  }
}

/** The values after the write (a new map); throws if the result would pass the limits. */
export function applyAttributeWrite(
  scope: AttributeScope,
  current: ReadonlyMap<string, string>,
  op: AttributeOp,
  attrs: Record<string, string>,
  keys: string[],
): Map<string, string> {
  checkAttributeWrite(op, attrs, keys)
  let next: Map<string, string>
  if (op === AttributeOp.SET) next = new Map(Object.entries(attrs))
  else if (op === AttributeOp.CLEAR) next = new Map()
  else {
    next = new Map(current)
    if (op === AttributeOp.ADD_OR_UPDATE) for (const [k, v] of Object.entries(attrs)) next.set(k, v)
    else for (const k of keys) next.delete(k)
  }
  checkAttributeTotals(scope, next)
  return next
}

export function checkAttributeTotals(scope: AttributeScope, values: ReadonlyMap<string, string>): void {
  if (values.size > MAX_ATTRIBUTE_KEYS) throw new PlazaError(ErrorCode.ATTRIBUTES_TOO_LARGE, `at most ${MAX_ATTRIBUTE_KEYS} attributes`)
  let total = 0
  for (const [k, v] of values) total += utf8Length(k) + utf8Length(v)
  if (total > totalCap(scope)) {
    throw new PlazaError(ErrorCode.ATTRIBUTES_TOO_LARGE, `attributes over ${totalCap(scope)} bytes in all`)
  }
}

/** Name of the Y.Map holding a channel's attributes in its Yjs document. */
export const CHANNEL_ATTRIBUTES_MAP = 'attributes'

/** The part of Y.Map that the attribute verbs use (kept structural: no Yjs import here). */
export interface AttributeMapLike {
  get(key: string): unknown
  set(key: string, value: unknown): unknown
  delete(key: string): void
  forEach(fn: (value: unknown, key: string) => void): void
}

function isChannelAttribute(v: unknown): v is ChannelAttribute {
  const a = v as ChannelAttribute
  return (
    typeof a === 'object' &&
    a !== null &&
    typeof a.value === 'string' &&
    typeof a.lastUpdateUserId === 'string' &&
    Number.isSafeInteger(a.lastUpdateTs)
  )
}

/** The attributes in a channel document; throws ATTRIBUTES_TOO_LARGE / INVALID_ARGUMENT if a peer put junk there. */
export function readChannelAttributes(map: AttributeMapLike): Map<string, ChannelAttribute> {
  const out = new Map<string, ChannelAttribute>()
  map.forEach((v, k) => {
    if (!isChannelAttribute(v)) throw new PlazaError(ErrorCode.INVALID_ARGUMENT, `attribute ${k} is malformed`)
    out.set(k, { value: v.value, lastUpdateUserId: v.lastUpdateUserId, lastUpdateTs: v.lastUpdateTs })
  })
  return out
}

/** Applies a verb to a channel document's map (call inside a Yjs transaction). Throws before changing anything. */
export function writeChannelAttributes(
  map: AttributeMapLike,
  op: AttributeOp,
  attrs: Record<string, string>,
  keys: string[],
  uid: string,
  ts: number,
): void {
  const current = readChannelAttributes(map)
  const values = new Map([...current].map(([k, a]) => [k, a.value]))
  const next = applyAttributeWrite('channel', values, op, attrs, keys)
  for (const k of current.keys()) if (!next.has(k)) map.delete(k)
  const written = op === AttributeOp.SET || op === AttributeOp.ADD_OR_UPDATE ? Object.keys(attrs) : []
  for (const k of written) map.set(k, { value: attrs[k], lastUpdateUserId: uid, lastUpdateTs: ts })
}
