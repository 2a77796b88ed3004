import { resolve } from 'node:path'
import { IpcChild, type ChildEvent } from './ipc-child.js'
import { APP_ID, type RendezvousProcess } from './rendezvous.js'

/** A Plaza client in a child process (real process, own WebRTC links), driven over IPC (agent.mjs). */
export class Agent extends IpcChild {
  private constructor(
    readonly uid: string,
    proc: IpcChild<ChildEvent>['proc'],
  ) {
    super(proc, uid)
  }

  /**
   * `prefix` runs it inside e.g. a network namespace (`ip netns exec NS`); `options` go to createClient;
   * `spyLinks` keeps its WebRTC links within reach of `abuseLinks`.
   */
  static async start(node: RendezvousProcess, uid: string, opts: { prefix?: string[]; options?: Record<string, unknown>; spyLinks?: boolean; webrtc?: 'node-datachannel' } = {}): Promise<Agent> {
    const { proc, ready } = IpcChild.fork(resolve(__dirname, 'agent.mjs'), opts.prefix)
    const agent = new Agent(uid, proc)
    try {
      await ready
      await agent.call('login', { url: node.url, appId: APP_ID, uid, token: await node.token(uid), options: opts.options ?? {}, spyLinks: opts.spyLinks ?? false, webrtc: opts.webrtc })
    } catch (err) {
      await agent.kill()
      throw err
    }
    return agent
  }

  call<T = unknown>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    return this.request<T>(`${this.uid}: ${cmd}`, { cmd, ...args }, timeoutMs)
  }
}
