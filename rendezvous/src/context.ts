import type { Logger } from 'pino'
import type { PlazaError } from '@plaza/protocol'
import type { NodeConfig } from './config.js'
import type { Engine } from './engine/engine.js'
import type { NodeMetrics } from './metrics.js'
import type { NodeRuntime } from './runtime.js'
import type { Session, SessionLimits } from './session.js'
import type { Moderation } from './moderation.js'

/** What the node's services share. */
export interface NodeContext {
  readonly engine: Engine
  readonly config: NodeConfig
  readonly log: Logger
  readonly rt: NodeRuntime
  readonly metrics: NodeMetrics
  readonly moderation: Moderation
  /** True once the node is shutting down. */
  readonly closing: boolean
  /** Answers a request with OK (err null) or the error's code. */
  result(s: Session, reqId: number, err: PlazaError | null): void
  /** TOO_OFTEN if the session's bucket is empty, else null (and a token is taken). */
  checkRate(s: Session, name: keyof SessionLimits): PlazaError | null
  /** Runs work whose outcome no one waits for; a failure is logged. */
  background(work: Promise<unknown>, what: string): void
  /** TOO_OFTEN if the session's byte budget (fanoutBytes) cannot pay for `bytes` the node sends for it. */
  chargeBytes(s: Session, bytes: number): PlazaError | null
}
