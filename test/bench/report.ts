import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { resolve } from 'node:path'

const FILE = resolve(__dirname, '../../BENCHMARKS.md')

export interface Stats {
  n: number
  median: number
  p99: number
  mean: number
}

export function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b)
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]
  return { n: s.length, median: at(0.5), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length }
}

export const ms = (x: number) => `${x.toFixed(2)} ms`

export function machine(): string {
  const c = cpus()
  return `${c.length} × ${c[0]?.model.trim() ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`
}

/** Prints a table and writes it as the `name` section of BENCHMARKS.md (replacing the old one). */
export function report(name: string, title: string, command: string, table: string[][], notes: string[] = []): void {
  const [head, ...rows] = table
  const md = [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')
  const section = [
    `<!-- bench:${name} -->`,
    `## ${title}`,
    '',
    `Machine: ${machine()}. Date: ${new Date().toISOString().slice(0, 10)}. Command: \`${command}\``,
    '',
    md,
    '',
    ...notes.map((n) => `${n}\n`),
    `<!-- /bench:${name} -->`,
  ].join('\n')
  console.log(`\n${title}\n${md}\n${notes.join('\n')}`)
  let doc = existsSync(FILE)
    ? readFileSync(FILE, 'utf8')
    : '# Benchmarks\n\nFigures written by `npm run bench -- <name>` (test/bench). Shared, noisy machines: compare the ratios within one run, not absolute numbers across runs.\n'
  const re = new RegExp(`<!-- bench:${name} -->[\\s\\S]*?<!-- /bench:${name} -->`)
  doc = re.test(doc) ? doc.replace(re, section) : `${doc.trimEnd()}\n\n${section}\n`
  writeFileSync(FILE, doc)
}
