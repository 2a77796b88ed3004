import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'

/**
 * Two hosts in their own network namespaces, joined by a veth pair, with random loss on every
 * packet entering either side (nftables `numgen random` drop at prerouting priority -300; this
 * kernel has no netem). All IP is dropped, not only UDP, so WebRTC cannot escape to ICE-TCP.
 */
export interface LossyPair {
  nsA: string
  nsB: string
  ipA: string
  ipB: string
  /** Command prefix that runs a program inside a namespace. */
  exec(ns: string): string[]
  setLoss(percent: number): void
  cleanup(): void
}

const sh = (cmd: string, args: string[], input?: string) => execFileSync(cmd, args, { input, stdio: ['pipe', 'pipe', 'pipe'] })

export function ensureNftables(): void {
  execFileSync('bash', [resolve(__dirname, '../../scripts/ensure-tool.sh'), 'nft', 'nftables'], { stdio: 'inherit' })
}

export function createLossyPair(lossPercent: number): LossyPair {
  const tag = `pz${process.pid % 100000}`
  const nsA = `${tag}a`
  const nsB = `${tag}b`
  const ifA = `${tag}a0`
  const ifB = `${tag}b0`
  const net = 64 + (process.pid % 100)
  const ipA = `10.${net}.0.1`
  const ipB = `10.${net}.0.2`
  const cleanup = () => {
    for (const ns of [nsA, nsB]) {
      try {
        sh('ip', ['netns', 'del', ns])
      } catch {
        /* not there */
      }
    }
  }
  cleanup()
  sh('ip', ['netns', 'add', nsA])
  sh('ip', ['netns', 'add', nsB])
  sh('ip', ['link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB])
  sh('ip', ['link', 'set', ifA, 'netns', nsA])
  sh('ip', ['link', 'set', ifB, 'netns', nsB])
  for (const [ns, dev, ip] of [
    [nsA, ifA, ipA],
    [nsB, ifB, ipB],
  ]) {
    sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', dev])
    sh('ip', ['-n', ns, 'link', 'set', dev, 'up'])
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
  }
  const apply = (percent: number) => {
    for (const [ns, dev] of [
      [nsA, ifA],
      [nsB, ifB],
    ]) {
      try {
        sh('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'pzloss'])
      } catch {
        /* first time */
      }
      if (percent > 0) {
        sh(
          'ip',
          ['netns', 'exec', ns, 'nft', '-f', '-'],
          `table inet pzloss {\n  chain pre {\n    type filter hook prerouting priority -300; policy accept;\n    iifname "${dev}" numgen random mod 100 < ${percent} drop\n  }\n}\n`,
        )
      }
    }
  }
  apply(lossPercent)
  return { nsA, nsB, ipA, ipB, exec: (ns) => ['ip', 'netns', 'exec', ns], setLoss: apply, cleanup }
}
