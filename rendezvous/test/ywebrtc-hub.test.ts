import { describe, expect, it } from 'vitest'
import { TopicHub, type Subscriber } from '../src/ywebrtc/hub.js'

const sub = (remote = '10.0.0.1'): Subscriber => ({ topics: null, remote })

describe('TopicHub', () => {
  it('subscribes, lists subscribers, and forgets a topic when its last subscriber leaves', () => {
    const hub = new TopicHub<Subscriber>({ topicsPerSocket: 10, subscribersPerTopic: 10, subscribersPerTopicPerAddress: 10 })
    const [a, b] = [sub(), sub()]
    expect(hub.subscribe(a, 't')).toBe('ok')
    expect(hub.subscribe(b, 't')).toBe('ok')
    expect(hub.subscribe(a, 't')).toBe('ok')
    expect([...hub.subscribers('t')!]).toEqual([a, b])
    hub.unsubscribe(a, 't')
    expect([...hub.subscribers('t')!]).toEqual([b])
    hub.unsubscribe(a, 't')
    hub.unsubscribe(b, 't')
    expect(hub.subscribers('t')).toBeUndefined()
    expect(hub.size).toBe(0)
  })

  it('holds no set for a socket that never subscribed', () => {
    const hub = new TopicHub<Subscriber>({ topicsPerSocket: 10, subscribersPerTopic: 10, subscribersPerTopicPerAddress: 10 })
    const a = sub()
    hub.unsubscribe(a, 't')
    hub.drop(a)
    expect(a.topics).toBeNull()
  })

  it('refuses a socket past topicsPerSocket, and a topic past subscribersPerTopic', () => {
    const hub = new TopicHub<Subscriber>({ topicsPerSocket: 2, subscribersPerTopic: 2, subscribersPerTopicPerAddress: 2 })
    const [a, b, c] = [sub(), sub(), sub()]
    expect(hub.subscribe(a, 'x')).toBe('ok')
    expect(hub.subscribe(a, 'y')).toBe('ok')
    expect(hub.subscribe(a, 'z')).toBe('too-many-topics')
    expect(hub.subscribe(a, 'x')).toBe('ok') // already in
    expect(hub.subscribe(b, 'x')).toBe('ok')
    expect(hub.subscribe(c, 'x')).toBe('topic-full')
    expect(c.topics).toBeNull()
    hub.unsubscribe(a, 'x')
    expect(hub.subscribe(c, 'x')).toBe('ok')
    expect(hub.subscribe(a, 'z')).toBe('ok')
  })

  it('drop takes a socket out of all its topics and leaves nothing behind (no leak over many sockets)', () => {
    const hub = new TopicHub<Subscriber>({ topicsPerSocket: 100, subscribersPerTopic: 100_000, subscribersPerTopicPerAddress: 100_000 })
    const keep = sub()
    hub.subscribe(keep, 'room-0')
    for (let i = 0; i < 10_000; i++) {
      const s = sub()
      for (let t = 0; t < 5; t++) hub.subscribe(s, `room-${(i + t) % 50}`)
      hub.drop(s)
      expect(s.topics).toBeNull()
    }
    expect(hub.size).toBe(1)
    expect([...hub.subscribers('room-0')!]).toEqual([keep])
  })

  it('gives one address only its share of a topic, so it cannot fill the topic and lock the room', () => {
    // Found from outside: 1,000 sockets from one address (no token under `optional`) filled
    // subscribersPerTopic and two real y-webrtc providers could no longer meet.
    const hub = new TopicHub<Subscriber>({ topicsPerSocket: 10, subscribersPerTopic: 100, subscribersPerTopicPerAddress: 3 })
    const squatters = [sub('6.6.6.6'), sub('6.6.6.6'), sub('6.6.6.6'), sub('6.6.6.6')]
    expect(squatters.map((s) => hub.subscribe(s, 'room'))).toEqual(['ok', 'ok', 'ok', 'address-full'])
    expect(hub.subscribe(squatters[3], 'other')).toBe('ok') // a share per topic
    const [alice, bob] = [sub('1.1.1.1'), sub('2.2.2.2')]
    expect(hub.subscribe(alice, 'room')).toBe('ok')
    expect(hub.subscribe(bob, 'room')).toBe('ok')
    // A place given back (unsubscribe or drop) can be taken again from that address.
    hub.drop(squatters[0])
    expect(hub.subscribe(squatters[3], 'room')).toBe('ok')
    expect(hub.subscribe(sub('6.6.6.6'), 'room')).toBe('address-full')
    expect(hub.subscribers('room')!.size).toBe(5)
  })
})
