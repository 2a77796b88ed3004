import { ClassicLevel } from 'classic-level'

export type Database = ClassicLevel<string, Uint8Array>

/** The node's embedded store: one LevelDB directory; each store keeps its own key prefix. */
export function openDatabase(dir: string): Database {
  return new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' })
}
