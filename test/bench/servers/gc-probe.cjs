// Preloaded (node --expose-gc --require gc-probe.cjs server.js) into a server under measurement:
// on SIGUSR2 it collects garbage fully and prints its memory as one line on stderr; with
// GCPROBE_SNAPSHOTS=dir it also writes a heap snapshot there each time.
const { writeHeapSnapshot } = require('node:v8')
const { join } = require('node:path')
let shots = 0
process.on('SIGUSR2', () => {
  for (let i = 0; i < 4; i++) globalThis.gc()
  const dir = process.env.GCPROBE_SNAPSHOTS
  if (dir) writeHeapSnapshot(join(dir, `probe-${shots++}.heapsnapshot`))
  const m = process.memoryUsage()
  process.stderr.write(`GCPROBE ${JSON.stringify({ rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers })}\n`)
})
