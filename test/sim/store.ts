/**
 * Durable storage for the simulation: the node's database (memory-level, the same
 * abstract-level interface as its LevelDB) and each user's client storage. Both outlive the
 * process that uses them; a write becomes durable only some time after it is made, and a
 * crash before that loses it.
 */
import type { AbstractBatchOperation } from 'abstract-level'
import { MemoryLevel } from 'memory-level'
import type { PlazaStorage } from '@plaza/client'
import type { Database } from '@plaza/rendezvous'
import type { Prng } from './prng.js'
import type { Domain, Scheduler } from './scheduler.js'

type DiskDb = MemoryLevel<string, Uint8Array>
/** One operation of a batch (`db.batch(ops)`; its overloads hide it from `Parameters`). */
type BatchOp = AbstractBatchOperation<DiskDb, string, Uint8Array>

/** The node's disk: one memory-level database that survives node crashes. */
export class SimDisk {
  readonly db: DiskDb = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
  private opened = false

  /**
   * The database as one node process sees it: reads are immediate; writes (batch, put, del)
   * land and resolve after an fsync delay, or never if the process dies first.
   */
  forProcess(sched: Scheduler, domain: Domain, prng: Prng): Database {
    const db = this.db
    const disk = this
    const delayed =
      <A extends unknown[]>(op: (...args: A) => Promise<void>) =>
      (...args: A): Promise<void> =>
        new Promise<void>((resolve, reject) => {
          sched.at(domain, prng.int(1, 8), () => {
            op(...args).then(resolve, reject)
          })
        })
    const batch = delayed((ops: BatchOp[]) => db.batch(ops))
    const put = delayed((k: string, v: Uint8Array) => db.put(k, v))
    const del = delayed((k: string) => db.del(k))
    return new Proxy(db, {
      get(target, prop, receiver) {
        if (prop === 'batch') return (ops: BatchOp[]) => batch(ops)
        if (prop === 'put') return (k: string, v: Uint8Array) => put(k, v)
        if (prop === 'del') return (k: string) => del(k)
        // The disk stays open across node processes: a process opens and closes only its view.
        if (prop === 'open') return async () => {
          if (!disk.opened) await db.open()
          disk.opened = true
        }
        if (prop === 'close') return async () => undefined
        const v = Reflect.get(target, prop, receiver)
        return typeof v === 'function' ? v.bind(target) : v
      },
    }) as unknown as Database
  }
}

/** A user's client storage (IndexedDB in a browser): outlives page loads; writes take a moment. */
export class SimClientStorage {
  readonly data = new Map<string, Uint8Array>()

  /** The storage as one page (client instance) sees it. */
  forPage(sched: Scheduler, domain: Domain, prng: Prng): PlazaStorage {
    const data = this.data
    const later = <T>(fn: () => T): Promise<T> => new Promise((resolve) => sched.at(domain, prng.int(1, 4), () => resolve(fn())))
    return {
      durable: true,
      get: (key) => later(() => data.get(key)),
      set: (key, value) => later(() => void data.set(key, Uint8Array.from(value))),
      del: (key) => later(() => void data.delete(key)),
    }
  }
}
