import { describe, expect, it } from 'vitest'
import { parse } from 'acorn'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { createContext, runInContext } from 'node:vm'

const root = join(__dirname, '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const bundlePath = join(root, pkg.main)
const bundle = readFileSync(bundlePath, 'utf8')

/** Parses as an ES2017 engine (and webpack 4's acorn 6 with ecmaVersion 2017) would. */
function parses2017(src: string): boolean {
  try {
    parse(src, { ecmaVersion: 2017, sourceType: 'script' })
    return true
  } catch {
    return false
  }
}

interface AgoraGlobal {
  createInstance: (appId: string, config?: object) => unknown
  configure: (c: object) => void
  ConnectionState: Record<string, string>
  RtmInvalidArgumentError: new (...a: unknown[]) => Error
  default: unknown
  VERSION: string
}

describe('the UMD bundle', () => {
  it('is what main and browser name (old bundlers read those), with the ESM entry under exports.import', () => {
    expect(pkg.main).toBe('./dist/umd/agora-rtm.js')
    expect(pkg.browser).toBe('./dist/umd/agora-rtm.js')
    expect(pkg.exports['.'].import).toBe('./dist/esm/index.js')
    expect(readFileSync(join(root, 'dist/umd/agora-rtm.d.ts'), 'utf8')).toContain("export { default } from '../esm/index.js'")
  })

  it('is ES2017 syntax: no class fields, optional chaining, ??, numeric separators, object spread, ...', () => {
    expect(parses2017(bundle)).toBe(true)
    // The check itself rejects what came after ES2017.
    for (const later of ['a?.b', 'a ?? b', 'class A { x = 1 }', '1_000', 'const o = { ...p }', 'try {} catch {}', '/a/s', 'async function* g() {}', '2n']) {
      expect(parses2017(later), later).toBe(false)
    }
  })

  it('carries its dependencies inside: no require or import of another module', () => {
    expect(bundle).not.toMatch(/\brequire\(["']/)
    expect(bundle).not.toMatch(/\bimport\s*\(/)
  })

  it('run by a plain <script> (a bare global scope), defines AgoraRTM with the SDK surface', () => {
    const ctx = createContext({ console, setTimeout, clearTimeout, setInterval, clearInterval, TextEncoder, TextDecoder, crypto: globalThis.crypto })
    runInContext(bundle, ctx)
    const AgoraRTM = (ctx as { AgoraRTM?: AgoraGlobal }).AgoraRTM
    expect(AgoraRTM).toBeDefined()
    expect(typeof AgoraRTM!.createInstance).toBe('function')
    expect(AgoraRTM!.ConnectionState.ABORTED).toBe('ABORTED')
    expect(AgoraRTM!.VERSION).toBe('1.5.1')
    expect(AgoraRTM!.default).toBe(AgoraRTM)
    // Without a rendezvous configured: the SDK's invalid-argument error, at once.
    let err: unknown
    try {
      AgoraRTM!.createInstance('app')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(AgoraRTM!.RtmInvalidArgumentError)
    expect((err as { code: number }).code).toBe(1)
  })

  it('loaded by CommonJS, exports the AgoraRTM object itself (and as .default)', () => {
    const module = { exports: {} as AgoraGlobal }
    new Function('module', 'exports', bundle)(module, module.exports)
    expect(typeof module.exports.createInstance).toBe('function')
    expect(module.exports.default).toBe(module.exports)
  })

  it('required in Node (CommonJS), is the AgoraRTM object, working once given a WebSocket', () => {
    const require = createRequire(join(root, 'package.json'))
    const AgoraRTM = require('@plaza/agora-rtm') as Omit<AgoraGlobal, 'createInstance'> & { createInstance: (a: string, c: object) => { login: unknown; plaza: { destroy(): Promise<void> } } }
    expect(require.resolve('@plaza/agora-rtm')).toBe(bundlePath)
    expect(typeof AgoraRTM.createInstance).toBe('function')
    expect(AgoraRTM.default).toBe(AgoraRTM)
    const client = AgoraRTM.createInstance('app', { rendezvousUrl: 'ws://127.0.0.1:9', clientOptions: { WebSocket: require('ws') } })
    expect(typeof client.login).toBe('function')
    void client.plaza.destroy()
  })

  it('loaded by AMD, defines a module with no dependencies', () => {
    let defined: { deps: unknown[]; factory: () => AgoraGlobal } | undefined
    const define = Object.assign((deps: unknown[], factory: () => AgoraGlobal) => (defined = { deps, factory }), { amd: {} })
    new Function('define', bundle)(define)
    expect(defined?.deps).toEqual([])
    expect(typeof defined!.factory().createInstance).toBe('function')
  })
})
