import { describe, expect, it } from 'vitest'
import { utf8Length } from '../src/index.js'

describe('utf8Length', () => {
  it('counts what TextEncoder writes, lone surrogates included (U+FFFD, 3 bytes)', () => {
    const cases = ['', 'abc', 'héllo', '€', '😀', 'a😀b', '\ud800', '\udc00', '\ud800a', 'a\ud800', '\ud800\ud800', '\udc00\ud800', '\ud83d\ude00\ud83d', 'x'.repeat(100)]
    for (const s of cases) expect([JSON.stringify(s), utf8Length(s)]).toEqual([JSON.stringify(s), new TextEncoder().encode(s).length])
  })
})
