import type { AbstractBatchOptions, AbstractLevel } from 'abstract-level'
import { ClassicLevel } from 'classic-level'

/**
 * The node's embedded store: one key-value database (LevelDB through classic-level on disk;
 * memory-level in the simulation, behind the same abstract-level interface). Each store keeps
 * its own key prefix.
 */
export type Database = AbstractLevel<string | Uint8Array | Buffer, string, Uint8Array>

export function openDatabase(dir: string): Database {
  return new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' })
}

/** Batch options of a durable write: fsynced before it resolves (classic-level's `sync`). */
export const DURABLE = { sync: true } as AbstractBatchOptions<string, Uint8Array>
