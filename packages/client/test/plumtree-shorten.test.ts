import { describe, expect, it } from 'vitest'
import { OverlayFrameType, type OverlayFrame } from '@plaza/protocol'
import { overlayConfig } from '../src/overlay/config.js'
import { Plumtree } from '../src/overlay/plumtree.js'

// Plumtree's optimisation (the overlay calls swapParent when an announced path is shortenBy hops
// shorter than the one a message came by): the announcer becomes the stream's parent, the old one
// is pruned, and the stream's next messages go eagerly to the announcer and lazily to the old parent.
describe('a stream tree moved to a shorter path', () => {
  it('grafts the announcer, prunes the old parent, and routes the stream accordingly', () => {
    const sent: { peer: string; f: OverlayFrame }[] = []
    const tree = new Plumtree('room', overlayConfig(), (peer, f) => sent.push({ peer, f }))
    const id = { origin: 'o', stream: 's', seq: 3 }
    // Before: 'far' pruned 'near' earlier (near is lazy), 'far' is in the tree.
    tree.duplicate('near', id)
    sent.length = 0
    expect(tree.route(['near', 'far'], { ...id, seq: 4, hops: 1 }, null, 0)).toEqual(['far'])

    tree.swapParent('near', 'far', id)
    expect(sent).toEqual([
      { peer: 'near', f: { type: OverlayFrameType.GRAFT, channel: 'room', ids: [id] } },
      { peer: 'far', f: { type: OverlayFrameType.PRUNE, channel: 'room', streams: [{ origin: 'o', stream: 's' }] } },
    ])
    expect(tree.route(['near', 'far'], { ...id, seq: 5, hops: 1 }, null, 0)).toEqual(['near'])
    expect(tree.announceDue).toBeGreaterThan(0) // 'far' gets an announcement instead
  })
})
