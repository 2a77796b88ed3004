import WebSocket from 'ws'
import {
  ErrorCode,
  FrameType,
  MessageKind,
  PROTOCOL_VERSION,
  PeerFrameType,
  RelayStatus,
  SyncKind,
  decodeServerFrame,
  encodeFrame,
  encodePeerFrame,
  type ClientFrame,
  type ServerFrame,
} from '@plaza/protocol'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as sync from 'y-protocols/sync'
import { APP_ID } from './rendezvous.js'

/** A bare protocol speaker: what a buggy or hostile client can send. */
export class RawClient {
  /**
   * What the node sent, with each RELAYED (protocol 3: many relay requests answered at once)
   * read as the RELAY_RESULT RELAYED it stands for, one per request.
   */
  readonly frames: ServerFrame[] = []
  /** What the node sent, frame by frame as it came. */
  readonly wire: ServerFrame[] = []
  private waiters: { test: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }[] = []
  closed: Promise<{ code: number }>
  sessionId = ''
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const frame = decodeServerFrame(new Uint8Array(data))
      this.wire.push(frame)
      const read: ServerFrame[] =
        frame.type === FrameType.RELAYED
          ? frame.reqIds.map((reqId) => ({ type: FrameType.RELAY_RESULT, reqId, status: RelayStatus.RELAYED, serverTs: frame.serverTs }))
          : [frame]
      for (const f of read) {
        this.frames.push(f)
        this.waiters = this.waiters.filter((w) => !(w.test(f) && (w.resolve(f), true)))
      }
    })
    this.closed = new Promise((r) => ws.on('close', (code) => r({ code })))
  }
  static async open(url: string): Promise<RawClient> {
    const ws = new WebSocket(url)
    await new Promise((r, j) => ws.once('open', r).once('error', j))
    return new RawClient(ws)
  }
  send(f: ClientFrame | Uint8Array): void {
    this.ws.send(f instanceof Uint8Array ? f : encodeFrame(f))
  }
  next(test: (f: ServerFrame) => boolean, timeoutMs = 5000): Promise<ServerFrame> {
    const seen = this.frames.find(test)
    if (seen) {
      this.frames.splice(this.frames.indexOf(seen), 1)
      return Promise.resolve(seen)
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no such frame')), timeoutMs)
      this.waiters.push({ test, resolve: (f) => (clearTimeout(t), this.frames.splice(this.frames.indexOf(f), 1), resolve(f)) })
    })
  }
  async login(uid: string, token: string, resume = '', version = PROTOCOL_VERSION): Promise<void> {
    this.send({ type: FrameType.LOGIN, version, appId: APP_ID, uid, token, resume })
    const f = await this.next((f) => f.type === FrameType.LOGIN_OK || f.type === FrameType.LOGIN_FAILED)
    if (f.type !== FrameType.LOGIN_OK) throw new Error('login failed')
    this.sessionId = f.sessionId
  }
  error(code: ErrorCode) {
    return this.next((f) => (f.type === FrameType.ERROR || f.type === FrameType.RESULT) && f.code === code)
  }
  /**
   * The node's document of a channel (joined first): a sync step 1 on no generation gets the
   * whole state on the current one.
   */
  async docState(channel: string): Promise<{ epoch: number; state: Uint8Array }> {
    // Older document frames in the backlog may be of an older generation: only the answer counts.
    const isDoc = (f: ServerFrame) => f.type === FrameType.CHANNEL_SYNC_FROM_NODE && f.channel === channel && f.kind === SyncKind.DOC
    for (let i = this.frames.length - 1; i >= 0; i--) if (isDoc(this.frames[i])) this.frames.splice(i, 1)
    const e = encoding.createEncoder()
    sync.writeSyncStep1(e, new Y.Doc())
    this.send({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 0, channel, epoch: 0, kind: SyncKind.DOC, notify: false, payload: encoding.toUint8Array(e) })
    const f = await this.next((f) => f.type === FrameType.CHANNEL_SYNC_FROM_NODE && f.channel === channel && f.kind === SyncKind.DOC && f.payload[0] === sync.messageYjsSyncStep2)
    if (f.type !== FrameType.CHANNEL_SYNC_FROM_NODE) throw new Error('no state')
    const d = decoding.createDecoder(f.payload)
    decoding.readVarUint(d)
    return { epoch: f.epoch, state: decoding.readVarUint8Array(d) }
  }

  /** Logs out (RESULT, then the node closes the socket). */
  async logout(): Promise<void> {
    this.send({ type: FrameType.LOGOUT, reqId: 999_999 })
    await this.closed
  }
  close(): void {
    this.ws.close()
  }
}

/** A peer MESSAGE frame with a text body. */
export function textFrame(stream: string, seq: number, floor: number, text: string, channel = ''): Uint8Array {
  return encodePeerFrame({
    type: PeerFrameType.MESSAGE,
    stream,
    channel,
    seq,
    floor,
    sentTs: Date.now(),
    kind: MessageKind.TEXT,
    text,
    bytes: new Uint8Array(0),
    description: '',
  })
}
