// Preloaded into a server under measurement (NODE_OPTIONS=--require gc-probe.cjs, or node
// --require): on SIGUSR2 it runs a full garbage collection and reports process.memoryUsage() —
// as one line `GCPROBE {...}` on stderr, and in $PLAZA_GC_PROBE_DIR/<pid>.json when that is set —
// so a bench reads a server's memory after GC without touching the server's code. With
// GCPROBE_SNAPSHOTS=dir it also writes a heap snapshot there each time.
const { writeFileSync, renameSync } = require('node:fs')
const { join } = require('node:path')
const v8 = require('node:v8')
const vm = require('node:vm')

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')
let shots = 0
process.on('SIGUSR2', () => {
  for (let i = 0; i < 4; i++) gc()
  const snapshots = process.env.GCPROBE_SNAPSHOTS
  if (snapshots) v8.writeHeapSnapshot(join(snapshots, `probe-${shots++}.heapsnapshot`))
  const m = process.memoryUsage()
  const dir = process.env.PLAZA_GC_PROBE_DIR
  if (dir) {
    const file = join(dir, `${process.pid}.json`)
    writeFileSync(`${file}.tmp`, JSON.stringify(m))
    renameSync(`${file}.tmp`, file)
  }
  process.stderr.write(`GCPROBE ${JSON.stringify({ rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers })}\n`)
})
