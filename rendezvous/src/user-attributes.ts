import { AttributeOp, ErrorCode, FrameType, PlazaError, applyAttributeWrite, encodeFrame, type AttributeEntry, type ClientFrame } from '@plaza/protocol'
import type { NodeContext } from './context.js'
import type { Session } from './session.js'

type UserAttrsFrame = Extract<
  ClientFrame,
  { type: FrameType.USER_ATTRS_WRITE | FrameType.USER_ATTRS_GET | FrameType.USER_ATTRS_SUBSCRIBE | FrameType.USER_ATTRS_UNSUBSCRIBE }
>

const MAX_ATTRIBUTE_SUBSCRIPTIONS = 512

function entries(attrs: ReadonlyMap<string, { value: string; ts: number }>, keys: string[] = []): AttributeEntry[] {
  const wanted = keys.length ? keys.filter((k) => attrs.has(k)) : [...attrs.keys()]
  return wanted.map((key) => ({ key, value: attrs.get(key)!.value, lastUpdateUserId: '', lastUpdateTs: attrs.get(key)!.ts }))
}

/** User attributes: kept with the session (gone at logout), readable by anyone, followable (beyond). */
export class UserAttributes {
  constructor(private readonly ctx: NodeContext) {}

  handle(s: Session, f: UserAttrsFrame): void {
    switch (f.type) {
      case FrameType.USER_ATTRS_WRITE: {
        const rate = this.ctx.checkRate(s, 'attributeWrites')
        if (rate) return this.ctx.result(s, f.reqId, rate)
        const values = new Map([...s.userAttrs].map(([k, a]) => [k, a.value]))
        let next: Map<string, string>
        try {
          next = applyAttributeWrite('user', values, f.op, Object.fromEntries(f.attrs), f.keys)
        } catch (err) {
          return this.ctx.result(s, f.reqId, err as PlazaError)
        }
        const now = this.ctx.rt.clock.now()
        const written = new Set(f.op === AttributeOp.SET || f.op === AttributeOp.ADD_OR_UPDATE ? f.attrs.map(([k]) => k) : [])
        s.userAttrs = new Map([...next].map(([k, value]) => [k, { value, ts: written.has(k) ? now : s.userAttrs.get(k)!.ts }]))
        this.ctx.result(s, f.reqId, null)
        return this.published(s)
      }
      case FrameType.USER_ATTRS_GET: {
        const rate = this.ctx.checkRate(s, 'attributeReads')
        if (rate) return this.ctx.result(s, f.reqId, rate)
        const owner = this.ctx.engine.lookup(s.appId, f.uid) as Session | undefined
        if (!owner) return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.PEER_OFFLINE, 'user is not logged in'))
        return s.sendNow(encodeFrame({ type: FrameType.ATTRIBUTES, reqId: f.reqId, attrs: entries(owner.userAttrs, f.keys) }))
      }
      case FrameType.USER_ATTRS_SUBSCRIBE: {
        const uids = [...new Set(f.uids)]
        const answers = uids.map((uid) => {
          const owner = this.ctx.engine.lookup(s.appId, uid) as Session | undefined
          return encodeFrame({ type: FrameType.USER_ATTRS_CHANGED, uid, attrs: owner ? entries(owner.userAttrs) : [] })
        })
        const refused = this.ctx.checkRate(s, 'presenceQueries') ?? this.ctx.chargeBytes(s, answers.reduce((n, a) => n + a.length, 0))
        if (refused) return this.ctx.result(s, f.reqId, refused)
        const fresh = uids.filter((u) => !s.attributeSubscriptions.has(u))
        if (s.attributeSubscriptions.size + fresh.length > MAX_ATTRIBUTE_SUBSCRIPTIONS) {
          return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.TOO_MANY_IDS, `at most ${MAX_ATTRIBUTE_SUBSCRIPTIONS} subscriptions`))
        }
        this.ctx.engine.subscribe(s, 'attributes', fresh)
        for (const u of fresh) s.attributeSubscriptions.add(u)
        this.ctx.result(s, f.reqId, null)
        // Current values at once, as presence subscriptions do.
        for (const a of answers) s.send(a)
        return
      }
      case FrameType.USER_ATTRS_UNSUBSCRIBE:
        this.ctx.engine.unsubscribe(s, 'attributes', f.uids)
        for (const u of f.uids) s.attributeSubscriptions.delete(u)
        return this.ctx.result(s, f.reqId, null)
    }
  }

  /** Tells followers the session's current attributes (empty when it ended). */
  published(s: Session, ended = false): void {
    const attrs = ended ? [] : entries(s.userAttrs)
    this.ctx.engine.publish('attributes', s.appId, s.uid, encodeFrame({ type: FrameType.USER_ATTRS_CHANGED, uid: s.uid, attrs }))
  }
}
