import { resolve } from 'node:path'
import { IpcChild, type ChildEvent } from './ipc-child.js'
import { APP_ID, type RendezvousProcess } from './rendezvous.js'

/**
 * A process holding several Plaza clients (test/helpers/members.mjs), driven over IPC: for tests
 * with many members, where one process per member would pay @roamhq/wrtc's per-process threads
 * many times over. Its events carry the member's `uid`.
 */
export class MemberHost extends IpcChild<ChildEvent & { uid: string }> {
  private constructor(
    readonly uids: string[],
    proc: IpcChild['proc'],
  ) {
    super(proc, `${uids[0]}…`)
  }

  static async start(node: RendezvousProcess, uids: string[], opts: { prefix?: string[]; options?: Record<string, unknown> } = {}): Promise<MemberHost> {
    const { proc, ready } = IpcChild.fork(resolve(__dirname, 'members.mjs'), opts.prefix)
    const host = new MemberHost(uids, proc)
    try {
      await ready
      for (const uid of uids) await host.call(uid, 'login', { url: node.url, appId: APP_ID, token: await node.token(uid), options: opts.options ?? {} })
    } catch (err) {
      await host.kill()
      throw err
    }
    return host
  }

  call<T = unknown>(uid: string, cmd: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    return this.request<T>(`${uid}: ${cmd}`, { cmd, uid, ...args }, timeoutMs)
  }

  /** Asks the process to exit normally; kills it if it has not within 5 s. */
  async exit(): Promise<void> {
    await this.call(this.uids[0]!, 'exit', {}, 5000).catch(() => undefined)
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000)
    await this.exited
    clearTimeout(timer)
  }
}
