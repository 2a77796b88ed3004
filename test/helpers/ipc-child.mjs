// The child's side of a process driven by its parent over IPC (test/helpers/ipc-child.ts):
// commands { id, cmd, ...args } are answered { id, ok, value | error, code }; events go up in
// batches, { event: 'batch', items }, at most every 20 ms.
const send = (m) => process.send?.(m)
let batch = []
let flushTimer = null

export function report(ev) {
  batch.push(ev)
  flushTimer ??= setTimeout(flushReports, 20)
}

/** Sends the events waiting now (before an exit, say). */
export function flushReports() {
  clearTimeout(flushTimer)
  flushTimer = null
  if (batch.length) send({ event: 'batch', items: batch })
  batch = []
}

/** Answers the parent's commands with `commands[cmd](message)`; says ready; exits with the parent. */
export function serve(commands) {
  process.on('message', async (m) => {
    try {
      send({ id: m.id, ok: true, value: await commands[m.cmd](m) })
    } catch (err) {
      send({ id: m.id, ok: false, error: String(err?.message ?? err), code: err?.code })
    }
  })
  // The parent is gone (its test runner was killed, say): so are we.
  process.on('disconnect', () => process.exit(1))
  send({ event: 'ready' })
}
