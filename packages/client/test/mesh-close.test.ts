import { afterEach, describe, expect, it } from 'vitest'
import { LinkFrameType } from '@plaza/protocol'
import { LINK_BACKOFF_LIMITS, LinkBackoff } from '../src/mesh/link-backoff.js'
import { closeMeshes, pair } from './fake-mesh.js'

afterEach(closeMeshes)

const until = async (check: () => boolean, ms = 1000) => {
  for (let i = 0; i < ms / 2 && !check(); i++) await new Promise((r) => setTimeout(r, 2))
  expect(check()).toBe(true)
}
const settle = (ms = 30) => new Promise((r) => setTimeout(r, ms))

async function linked(meshes: ReturnType<typeof pair>['meshes'], from = 'a', to = 'b') {
  meshes[from]!.connect(to)
  await until(() => meshes.a!.isOpen('b') && meshes.b!.isOpen('a'))
  await settle(10) // the HELLOs arrive
}

describe('closing a link: BYE, and the far end closes it', () => {
  it('the end that closes sends BYE and waits; the other end closes the link at once; neither counts it against the other', async () => {
    const { meshes, links } = pair()
    for (let round = 0; round < 4; round++) {
      await linked(meshes)
      const a = links.a!
      const b = links.b!
      meshes.a!.disconnect('b')
      expect(a.wire.at(-1)).toEqual(Uint8Array.of(LinkFrameType.BYE))
      // a stopped using the link but leaves closing it to b, which got BYE after everything before it.
      expect(meshes.a!.isOpen('b')).toBe(false)
      expect(a.destroyed).toBe(false)
      await until(() => b.destroyed && a.destroyed && !meshes.b!.isOpen('a'))
      expect(b.wire.some((w) => w[0] === LinkFrameType.BYE)).toBe(false)
    }
    // Four closes, none abrupt. b makes no link to a for 3 s after a's BYE (a may be going away),
    // but takes a's offers at once.
    meshes.b!.connect('a')
    expect(meshes.b!.linkState('a')).toBe('none')
    await linked(meshes)
  })

  it('says BYE to a peer that never said HELLO too (an older client ignores it), and closes the link itself after 1 s', async () => {
    const { meshes, links } = pair(false)
    await linked(meshes)
    const a = links.a!
    meshes.a!.disconnect('b')
    expect(a.wire.at(-1)).toEqual(Uint8Array.of(LinkFrameType.BYE))
    expect(a.destroyed).toBe(false)
    await until(() => a.destroyed, 1500)
  })
})

describe('a page going away (closeLinks)', () => {
  it('closes every link with BYE and makes or takes none for the pause; then links again', async () => {
    const { meshes, links } = pair()
    await linked(meshes)
    meshes.a!.closeLinks(300)
    expect(links.a!.wire.at(-1)).toEqual(Uint8Array.of(LinkFrameType.BYE))
    await until(() => !meshes.b!.isOpen('a'))
    meshes.a!.connect('b')
    expect(meshes.a!.linkState('b')).toBe('none')
    await settle(350)
    await linked(meshes)
  })
})

describe('a far end that closes links without BYE', () => {
  it('gets the first one free, then neither its offers are taken nor links made to it', async () => {
    const { meshes, links } = pair()
    await linked(meshes)
    links.b!.destroy() // b's end closes with no BYE: a sees the far end close it
    await until(() => !meshes.a!.isOpen('b'))
    await linked(meshes, 'b', 'a') // the first is free
    links.b!.destroy()
    await until(() => !meshes.a!.isOpen('b'))
    // The second: a takes no offer from b for 30 s, and does not link to b itself.
    meshes.b!.connect('a')
    meshes.a!.connect('b')
    await settle(100)
    expect(meshes.a!.linkState('b')).toBe('none')
    expect(meshes.a!.isOpen('b')).toBe(false)
  })

  it('backs off 30 s, 2 min, 8 min … up to 1 h, and starts again after 1 h without one', () => {
    const b = new LinkBackoff(1000)
    let t = 0
    expect(b.closedAbruptly('x', t)).toBe(0)
    const delays = [1, 2, 3, 4, 5, 6, 7].map(() => b.closedAbruptly('x', (t += 1000)))
    expect(delays).toEqual([30_000, 120_000, 480_000, 1_920_000, 3_600_000, 3_600_000, 3_600_000])
    expect(b.mayAccept('x', t + 3_599_999)).toBe(false)
    expect(b.mayConnect('x', t + 3_599_999)).toBe(false)
    expect(b.mayAccept('x', t + 3_600_000)).toBe(true)
    expect(b.mayAccept('y', t)).toBe(true)
    // An hour later the count starts again: one free.
    expect(b.closedAbruptly('x', t + LINK_BACKOFF_LIMITS.abruptForgetMs)).toBe(0)
    // Failures before a link opens are another matter: an offer or an open link clears them, and logout.
    b.failed('z', 0)
    expect(b.mayConnect('z', 999)).toBe(false)
    expect(b.mayAccept('z', 999)).toBe(true)
    b.failed('z', 1000)
    expect(b.mayConnect('z', 2999)).toBe(false)
    b.reachable('z')
    expect(b.mayConnect('z', 1001)).toBe(true)
    b.clearFailures()
    expect(b.mayAccept('x', t + 1000)).toBe(false)
  })
})
