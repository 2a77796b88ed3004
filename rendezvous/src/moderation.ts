import {
  ErrorCode,
  FrameType,
  MAX_MEMBERS_LISTED,
  ModerationAction,
  PlazaError,
  channelAllowed,
  encodeFrame,
  type ModerateFrame,
} from '@plaza/protocol'
import type { NodeContext } from './context.js'
import type { MemberRecord } from './engine/engine.js'
import type { Session } from './session.js'

/** Who took a moderation action: the app's server (REST) or a moderating member. */
export type ModerationSource = 'rest' | 'client'

/** The longest a sanction with an end may run: a year. */
const MAX_SECONDS = 365 * 86400

/** How a channel member appears to the others. */
export interface MemberStanding {
  role: string
  muted: boolean
  mayPublish: boolean
}

export interface ModerationHooks {
  /** Takes a session out of a channel as if it had left (others hear MemberLeft). */
  leaveChannel(s: Session, channel: string): Promise<void>
}

const untilText = (until: number) => (until === 0 ? 'until lifted' : `until ${new Date(until).toISOString()}`)

/**
 * Kick, ban, remove from a channel, mute — from the REST API or from a member whose grant allows
 * moderating the channel. The node enforces each (logins, joins, relayed channel messages) and
 * tells members each member's standing, so that receivers drop what a muted member sends over
 * direct links too.
 */
export class Moderation {
  constructor(
    private readonly ctx: NodeContext,
    private readonly hooks: ModerationHooks,
  ) {}

  private get store() {
    return this.ctx.engine.moderation
  }

  private now(): number {
    return this.ctx.rt.clock.now()
  }

  /** BANNED (with until when) for a banned user or address; null otherwise. */
  loginRefusal(appId: string, uid: string, address: string): PlazaError | null {
    const now = this.now()
    const until = this.store.until('ban', appId, uid, now) ?? (address ? this.store.until('ban-address', appId, address, now) : null)
    return until === null ? null : new PlazaError(ErrorCode.BANNED, `banned ${untilText(until)}`)
  }

  /** NOT_PERMITTED for a member removed from the channel, while the removal lasts. */
  joinRefusal(appId: string, uid: string, channel: string): PlazaError | null {
    const until = this.store.until('removed', appId, uid, this.now(), channel)
    return until === null ? null : new PlazaError(ErrorCode.NOT_PERMITTED, `removed from ${channel} ${untilText(until)}`)
  }

  isMuted(appId: string, channel: string, uid: string): boolean {
    return this.store.until('muted', appId, uid, this.now(), channel) !== null
  }

  /** A member's standing, from what its token gave it when it joined and the mutes in force. */
  standing(appId: string, channel: string, m: Pick<MemberRecord, 'uid' | 'role' | 'publishGrant'>): MemberStanding {
    const muted = this.isMuted(appId, channel, m.uid)
    return { role: m.role, muted, mayPublish: !muted && m.publishGrant }
  }

  private stateFrame(appId: string, channel: string, m: Pick<MemberRecord, 'uid' | 'role' | 'publishGrant'>): Uint8Array {
    return encodeFrame({ type: FrameType.MEMBER_STATE, channel, uid: m.uid, ...this.standing(appId, channel, m) })
  }

  /**
   * A session joined: it hears its own standing and that of every member not in the default
   * one; the others hear its standing if it is not the default. (Up to 512 members: above it
   * channel messages go through the node, which enforces mutes itself.)
   */
  async onJoin(s: Session, channel: string, announce = true): Promise<void> {
    const members = await this.ctx.engine.channelMembers(s.appId, channel)
    if (members.length > MAX_MEMBERS_LISTED) return
    const self = { uid: s.uid, role: s.grants.role ?? '', publishGrant: channelAllowed(s.grants.publish, channel) }
    const own = this.standing(s.appId, channel, self)
    s.sendNow(this.stateFrame(s.appId, channel, self))
    for (const m of members) {
      if (m.uid === s.uid) continue
      const st = this.standing(s.appId, channel, m)
      if (st.role || !st.mayPublish) s.sendNow(this.stateFrame(s.appId, channel, m))
    }
    if (announce && (own.role || !own.mayPublish)) await this.ctx.engine.sendToChannel(s.appId, channel, this.stateFrame(s.appId, channel, self), s.uid)
  }

  private async announce(appId: string, channel: string, uid: string): Promise<void> {
    const m = await this.ctx.engine.member(appId, channel, uid)
    if (m) await this.ctx.engine.sendToChannel(appId, channel, this.stateFrame(appId, channel, m))
  }

  private until(seconds: number): number {
    if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > MAX_SECONDS) {
      throw new PlazaError(ErrorCode.INVALID_ARGUMENT, `seconds: a whole number from 0 (no end) to ${MAX_SECONDS} (a year)`)
    }
    return seconds === 0 ? 0 : this.now() + seconds * 1000
  }

  private record(action: string, source: ModerationSource, fields: Record<string, unknown>): void {
    this.ctx.metrics.moderation.inc({ action, source })
    this.ctx.log.info({ action, source, ...fields }, 'moderation')
  }

  /** Ends the user's session (ABORTED / BANNED_BY_SERVER); false if it had none. */
  kick(appId: string, uid: string, source: ModerationSource, reason = 'kicked'): Promise<boolean> {
    this.record('kick', source, { appId, uid })
    return this.ctx.engine.command(appId, uid, { kind: 'end', code: ErrorCode.BANNED, message: reason })
  }

  /** Refuses the user's logins (and the address's, if given) for `seconds` (0: until lifted), and ends its session. */
  async ban(appId: string, uid: string, seconds: number, address: boolean, source: ModerationSource): Promise<{ until: number; address: string; addressBanned: boolean }> {
    const until = this.until(seconds)
    const addr = address ? ((await this.ctx.engine.session(appId, uid))?.address ?? '') : ''
    await this.store.set('ban', appId, uid, until)
    if (addr) await this.store.set('ban-address', appId, addr, until)
    this.record('ban', source, { appId, uid, until, address: addr })
    await this.ctx.engine.command(appId, uid, { kind: 'end', code: ErrorCode.BANNED, message: `banned ${untilText(until)}` })
    // An address is known only while the user is connected: for one who is not, none is banned.
    return { until, address: addr, addressBanned: addr !== '' }
  }

  async unban(appId: string, uid: string, address: string, source: ModerationSource): Promise<boolean> {
    const lifted = await this.store.lift('ban', appId, uid)
    const liftedAddress = address ? await this.store.lift('ban-address', appId, address) : false
    this.record('unban', source, { appId, uid, address })
    return lifted || liftedAddress
  }

  /** Takes the user out of the channel (all members hear MemberLeft) and refuses its joins for `seconds`. */
  async remove(appId: string, channel: string, uid: string, seconds: number, source: ModerationSource): Promise<{ until: number; wasMember: boolean }> {
    const until = this.until(seconds)
    await this.store.set('removed', appId, uid, until, channel)
    const wasMember = (await this.ctx.engine.member(appId, channel, uid)) !== null
    if (wasMember) await this.ctx.engine.command(appId, uid, { kind: 'leave', channel })
    this.record('remove', source, { appId, channel, uid, until, wasMember })
    return { until, wasMember }
  }

  /** A removal reached the node that holds the member's session: it leaves the channel. */
  removedHere(s: Session, channel: string): void {
    if (!s.channels.has(channel)) return
    const leave = this.hooks.leaveChannel(s, channel).then(async () => {
      // Told as a leave of its own: the client ends its side of the channel.
      const count = await this.ctx.engine.channelCount(s.appId, channel)
      s.send(encodeFrame({ type: FrameType.MEMBER_EVENT, channel, uid: s.uid, joined: false, count }))
    })
    this.ctx.background(leave, 'removal')
  }

  async mute(appId: string, channel: string, uid: string, seconds: number, source: ModerationSource): Promise<{ until: number }> {
    const until = this.until(seconds)
    await this.store.set('muted', appId, uid, until, channel)
    this.record('mute', source, { appId, channel, uid, until })
    await this.announce(appId, channel, uid)
    return { until }
  }

  async unmute(appId: string, channel: string, uid: string, source: ModerationSource): Promise<boolean> {
    const lifted = await this.store.lift('muted', appId, uid, channel)
    this.record('unmute', source, { appId, channel, uid })
    await this.announce(appId, channel, uid)
    return lifted
  }

  /** Ends the sanctions whose time is up; the members of a channel hear that a mute ended. */
  async sweep(): Promise<void> {
    for (const ended of await this.store.expire(this.now())) {
      if (ended.kind === 'muted') await this.announce(ended.appId, ended.channel, ended.target)
    }
  }

  /** MODERATE from a member: allowed for channels its grant lets it moderate. */
  async onModerate(s: Session, f: ModerateFrame): Promise<void> {
    if (s.grants.moderate === undefined || !channelAllowed(s.grants.moderate, f.channel)) {
      throw new PlazaError(ErrorCode.NOT_PERMITTED, `this user may not moderate ${f.channel}`)
    }
    if (f.uid === s.uid) throw new PlazaError(ErrorCode.INVALID_ARGUMENT, 'a moderator does not moderate itself')
    if (f.action === ModerationAction.REMOVE) await this.remove(s.appId, f.channel, f.uid, f.seconds, 'client')
    else if (f.action === ModerationAction.MUTE) await this.mute(s.appId, f.channel, f.uid, f.seconds, 'client')
    else await this.unmute(s.appId, f.channel, f.uid, 'client')
  }
}
