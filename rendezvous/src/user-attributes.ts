import { AttributeOp, ErrorCode, FrameType, PlazaError, applyAttributeWrite, encodeFrame, type AttributeEntry, type ClientFrame } from '@plaza/protocol'
import type { NodeContext } from './context.js'
import type { Session } from './session.js'

type UserAttrsFrame = Extract<
  ClientFrame,
  { type: FrameType.USER_ATTRS_WRITE | FrameType.USER_ATTRS_GET | FrameType.USER_ATTRS_SUBSCRIBE | FrameType.USER_ATTRS_UNSUBSCRIBE }
>

const MAX_ATTRIBUTE_SUBSCRIPTIONS = 512

function entries(attrs: ReadonlyMap<string, { value: string; ts: number }>): AttributeEntry[] {
  return [...attrs].map(([key, a]) => ({ key, value: a.value, lastUpdateUserId: '', lastUpdateTs: a.ts }))
}

/** The entries for `keys` (all of them for none), in the order asked. */
function pick(all: AttributeEntry[], keys: string[]): AttributeEntry[] {
  if (!keys.length) return all
  const byKey = new Map(all.map((e) => [e.key, e]))
  return keys.filter((k) => byKey.has(k)).map((k) => byKey.get(k)!)
}

/** User attributes: kept with the session (gone at logout), readable by anyone, followable (beyond). */
export class UserAttributes {
  constructor(private readonly ctx: NodeContext) {}

  handle(s: Session, f: UserAttrsFrame): Promise<void> | void {
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
        return this.ctx.engine.setUserAttributes(s.appId, s.uid, s.id, entries(s.userAttrs)).then(() => {
          this.ctx.result(s, f.reqId, null)
          this.published(s)
        })
      }
      case FrameType.USER_ATTRS_GET: {
        const rate = this.ctx.checkRate(s, 'attributeReads')
        if (rate) return this.ctx.result(s, f.reqId, rate)
        return this.ctx.engine.userAttributes(s.appId, f.uid).then((attrs) => {
          if (!attrs) return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.PEER_OFFLINE, 'user is not logged in'))
          s.sendNow(encodeFrame({ type: FrameType.ATTRIBUTES, reqId: f.reqId, attrs: pick(attrs, f.keys) }))
        })
      }
      case FrameType.USER_ATTRS_SUBSCRIBE:
        return this.subscribe(s, f)
      case FrameType.USER_ATTRS_UNSUBSCRIBE:
        for (const u of f.uids) s.attributeSubscriptions.delete(u)
        return this.ctx.engine.unsubscribe(s.appId, s.id, 'attributes', f.uids).then(() => this.ctx.result(s, f.reqId, null))
    }
  }

  private async subscribe(s: Session, f: Extract<UserAttrsFrame, { type: FrameType.USER_ATTRS_SUBSCRIBE }>): Promise<void> {
    const rate = this.ctx.checkRate(s, 'presenceQueries')
    if (rate) return this.ctx.result(s, f.reqId, rate)
    const uids = [...new Set(f.uids)]
    const found = await Promise.all(uids.map((uid) => this.ctx.engine.userAttributes(s.appId, uid)))
    const answers = uids.map((uid, i) => encodeFrame({ type: FrameType.USER_ATTRS_CHANGED, uid, attrs: found[i] ?? [] }))
    const overBudget = this.ctx.chargeBytes(s, answers.reduce((n, a) => n + a.length, 0))
    if (overBudget) return this.ctx.result(s, f.reqId, overBudget)
    const fresh = uids.filter((u) => !s.attributeSubscriptions.has(u))
    if (s.attributeSubscriptions.size + fresh.length > MAX_ATTRIBUTE_SUBSCRIPTIONS) {
      return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.TOO_MANY_IDS, `at most ${MAX_ATTRIBUTE_SUBSCRIPTIONS} subscriptions`))
    }
    for (const u of fresh) s.attributeSubscriptions.add(u)
    await this.ctx.engine.subscribe(s.appId, s.id, 'attributes', fresh)
    this.ctx.result(s, f.reqId, null)
    // Current values at once, as presence subscriptions do.
    for (const a of answers) s.send(a)
  }

  /** Tells followers the session's current attributes (empty when it ended). */
  published(s: Session, ended = false): void {
    const attrs = ended ? [] : entries(s.userAttrs)
    const frame = encodeFrame({ type: FrameType.USER_ATTRS_CHANGED, uid: s.uid, attrs })
    this.ctx.background(this.ctx.engine.publish('attributes', s.appId, s.uid, frame), 'attributes')
  }
}
