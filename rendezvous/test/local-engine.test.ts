import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalEngine } from '../src/engine/local-engine.js'
import { openDatabase } from '../src/store/database.js'
import { RecordingSink, engineContract } from './engine-contract.js'

engineContract(
  'in-process (LocalEngine)',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plaza-engine-'))
    const engine = new LocalEngine(openDatabase(dir), { perReceiver: 200, retentionMs: 86400_000 })
    const sink = new RecordingSink()
    await engine.open(sink)
    return {
      engines: [engine],
      sinks: [sink],
      close: async () => {
        await engine.close()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  },
  1,
)
