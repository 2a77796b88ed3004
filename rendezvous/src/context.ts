import type { Logger } from 'pino'
import type { PlazaError } from '@plaza/protocol'
import type { NodeConfig } from './config.js'
import type { Engine } from './engine/engine.js'
import type { Session, SessionLimits } from './session.js'

/** What the node's frame handlers share. */
export interface NodeContext {
  readonly engine: Engine
  readonly config: NodeConfig
  readonly log: Logger
  /** Answers a request with OK (err null) or the error's code. */
  result(s: Session, reqId: number, err: PlazaError | null): void
  /** TOO_OFTEN if the session's bucket is empty, else null (and a token is taken). */
  checkRate(s: Session, name: keyof SessionLimits): PlazaError | null
}
