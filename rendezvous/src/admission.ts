import { RateBucket, type RateLimit } from '@plaza/protocol'

export interface AdmissionLimits {
  /** Open WebSocket connections in all. */
  maxConnections: number
  /** ...from one address. */
  maxConnectionsPerAddress: number
  /** WebSocket handshakes one address may make. */
  handshakesPerAddress: RateLimit
}

export type Refusal = 'node-full' | 'address-full' | 'too-often'

interface AddressState {
  open: number
  bucket: RateBucket
  lastSeen: number
}

/**
 * Who may open a WebSocket: caps in all and per address, and a handshake rate per address.
 * Addresses with nothing open are forgotten once their handshake bucket would be full again.
 */
export class Admission {
  private readonly addresses = new Map<string, AddressState>()
  private total = 0

  constructor(private readonly limits: AdmissionLimits) {}

  get open(): number {
    return this.total
  }

  /** Takes a place for a connection from `address`, or says why not. */
  admit(address: string, now: number): Refusal | null {
    let a = this.addresses.get(address)
    if (!a) {
      a = { open: 0, bucket: new RateBucket(this.limits.handshakesPerAddress, now), lastSeen: now }
      this.addresses.set(address, a)
    }
    a.lastSeen = now
    if (!a.bucket.take(now)) return 'too-often'
    if (this.total >= this.limits.maxConnections) return 'node-full'
    if (a.open >= this.limits.maxConnectionsPerAddress) return 'address-full'
    a.open++
    this.total++
    return null
  }

  release(address: string): void {
    const a = this.addresses.get(address)
    if (!a || a.open === 0) return
    a.open--
    this.total--
  }

  /** Forgets idle addresses whose rate bucket has refilled. */
  sweep(now: number): void {
    const idle = this.limits.handshakesPerAddress.windowMs
    for (const [address, a] of this.addresses) if (a.open === 0 && now - a.lastSeen > idle) this.addresses.delete(address)
  }

  get addressesTracked(): number {
    return this.addresses.size
  }
}
