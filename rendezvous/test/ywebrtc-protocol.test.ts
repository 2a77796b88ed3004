import { describe, expect, it } from 'vitest'
import { ErrorCode } from '@plaza/protocol'
import { YWebrtcError, errorText, parseFrame, relayText } from '../src/ywebrtc/protocol.js'

const LIMITS = { topicsPerSocket: 3, topicBytes: 8 }

function refusal(text: string): { code: string; reason: string } {
  try {
    parseFrame(text, LIMITS)
  } catch (err) {
    expect(err).toBeInstanceOf(YWebrtcError)
    const e = err as YWebrtcError
    return { code: ErrorCode[e.code], reason: e.reason }
  }
  throw new Error(`accepted: ${text}`)
}

describe('parseFrame', () => {
  it("reads y-webrtc's four frames", () => {
    expect(parseFrame('{"type":"subscribe","topics":["a","b"]}', LIMITS)).toEqual({ type: 'subscribe', topics: ['a', 'b'] })
    expect(parseFrame('{"type":"subscribe","topics":[]}', LIMITS)).toEqual({ type: 'subscribe', topics: [] })
    expect(parseFrame('{"type":"unsubscribe","topics":["a"]}', LIMITS)).toEqual({ type: 'unsubscribe', topics: ['a'] })
    const pub = '{"type":"publish","topic":"room","data":{"type":"announce","from":"p1"}}'
    expect(parseFrame(pub, LIMITS)).toEqual({ type: 'publish', topic: 'room', text: pub })
    expect(parseFrame('{"type":"ping"}', LIMITS)).toEqual({ type: 'ping' })
  })

  it.each([
    ['', 'MALFORMED_FRAME', 'malformed'],
    ['{', 'MALFORMED_FRAME', 'malformed'],
    ['null', 'MALFORMED_FRAME', 'malformed'],
    ['42', 'MALFORMED_FRAME', 'malformed'],
    ['"subscribe"', 'MALFORMED_FRAME', 'malformed'],
    ['[{"type":"ping"}]', 'MALFORMED_FRAME', 'malformed'],
    ['{}', 'MALFORMED_FRAME', 'malformed'],
    ['{"type":7}', 'MALFORMED_FRAME', 'malformed'],
    ['{"type":"subscribe"}', 'MALFORMED_FRAME', 'malformed'],
    ['{"type":"subscribe","topics":"a"}', 'MALFORMED_FRAME', 'malformed'],
    ['{"type":"subscribe","topics":{"0":"a"}}', 'MALFORMED_FRAME', 'malformed'],
    ['{"type":"subscribe","topics":["a",1]}', 'INVALID_CHANNEL_ID', 'invalid-topic'],
    ['{"type":"subscribe","topics":[""]}', 'INVALID_CHANNEL_ID', 'invalid-topic'],
    ['{"type":"subscribe","topics":["123456789"]}', 'INVALID_CHANNEL_ID', 'invalid-topic'],
    ['{"type":"subscribe","topics":["ééééé"]}', 'INVALID_CHANNEL_ID', 'invalid-topic'],
    ['{"type":"subscribe","topics":["a","b","c","d"]}', 'TOO_MANY_CHANNELS', 'too-many-topics'],
    ['{"type":"unsubscribe","topics":null}', 'MALFORMED_FRAME', 'malformed'],
    ['{"type":"publish"}', 'INVALID_CHANNEL_ID', 'invalid-topic'],
    ['{"type":"publish","topic":["a"]}', 'INVALID_CHANNEL_ID', 'invalid-topic'],
    ['{"type":"hello"}', 'UNKNOWN_FRAME', 'unknown-type'],
    ['{"type":"__proto__"}', 'UNKNOWN_FRAME', 'unknown-type'],
  ])('refuses %j with %s', (text, code, reason) => {
    expect(refusal(text)).toEqual({ code, reason })
  })

  it('counts a topic in UTF-8 bytes', () => {
    expect(parseFrame('{"type":"subscribe","topics":["éééé"]}', LIMITS)).toEqual({ type: 'subscribe', topics: ['éééé'] })
  })
})

describe('relayText', () => {
  it('adds clients to the frame as sent, overriding one the sender put in', () => {
    expect(JSON.parse(relayText('{"type":"publish","topic":"r","data":{"a":[1]}}', 3))).toEqual({ type: 'publish', topic: 'r', data: { a: [1] }, clients: 3 })
    expect(JSON.parse(relayText('{"type":"publish","topic":"r","clients":1000}  \n', 2))).toEqual({ type: 'publish', topic: 'r', clients: 2 })
  })
})

describe('errorText', () => {
  it('names the code', () => {
    expect(JSON.parse(errorText(new YWebrtcError(ErrorCode.TOO_OFTEN, 'too-often', 'slow down')))).toEqual({ type: 'error', code: 'TOO_OFTEN', message: 'slow down' })
  })
})
