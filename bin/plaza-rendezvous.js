#!/usr/bin/env node
// `npx plaza-rendezvous` from a clone of the repository (npm runs the root package's own bin).
import { existsSync } from 'node:fs'

const built = new URL('../rendezvous/dist/bin.js', import.meta.url)
if (!existsSync(built)) {
  process.stderr.write('plaza-rendezvous: not built yet; run `npm install && npm run build` first\n')
  process.exit(1)
}
await import(built.href)
