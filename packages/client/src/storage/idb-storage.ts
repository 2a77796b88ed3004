import { createStore, del, get, set, type UseStore } from 'idb-keyval'
import type { PlazaStorage } from './storage.js'

/** IndexedDB through idb-keyval: the browser default. One database per origin, "plaza". */
export class IdbStorage implements PlazaStorage {
  readonly durable = true
  private readonly store: UseStore
  constructor(dbName = 'plaza', storeName = 'kv') {
    this.store = createStore(dbName, storeName)
  }
  get(key: string): Promise<Uint8Array | undefined> {
    return get<Uint8Array>(key, this.store)
  }
  set(key: string, value: Uint8Array): Promise<void> {
    return set(key, value, this.store)
  }
  del(key: string): Promise<void> {
    return del(key, this.store)
  }
}
