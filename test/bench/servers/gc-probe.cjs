// Preloaded into a server process (NODE_OPTIONS=--require gc-probe.cjs): on SIGUSR2 it runs a full
// garbage collection and writes process.memoryUsage() to $PLAZA_GC_PROBE_DIR/<pid>.json, so a bench
// can read a server's memory after GC without touching the server's code.
const { writeFileSync, renameSync } = require('node:fs')
const { join } = require('node:path')
const v8 = require('node:v8')
const vm = require('node:vm')

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')
const dir = process.env.PLAZA_GC_PROBE_DIR
if (dir) {
  process.on('SIGUSR2', () => {
    gc()
    gc()
    const file = join(dir, `${process.pid}.json`)
    writeFileSync(`${file}.tmp`, JSON.stringify(process.memoryUsage()))
    renameSync(`${file}.tmp`, file)
  })
}
