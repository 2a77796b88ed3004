import { describe, expect, it } from 'vitest'
import { UsageError, parseArgs } from '../src/cli.js'
import { defaultConfig } from '../src/config.js'

const usage = (argv: string[]) => {
  try {
    parseArgs(argv)
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError)
    return (err as Error).message
  }
  throw new Error(`accepted ${argv.join(' ')}`)
}

describe('parseArgs', () => {
  it('takes --name value and --name=value alike', () => {
    expect(parseArgs(['--port', '7421']).port).toBe(7421)
    expect(parseArgs(['--port=7421']).port).toBe(7421)
    const cfg = parseArgs(['--host=::1', '--data-dir', '/tmp/x', '--rate-limit=messages=10/1000', '--link-policy', 'a=always'])
    expect(cfg).toMatchObject({ host: '::1', dataDir: '/tmp/x', linkPolicies: { a: 'always' } })
    expect(cfg.rateLimits.messages).toEqual({ count: 10, windowMs: 1000 })
  })

  it('repeats: a list option adds up, a single one takes the last value', () => {
    const cfg = parseArgs(['--app', 'a:1', '--app=b:2', '--port', '1', '--port=2'])
    expect(cfg.apps).toEqual({ a: '1', b: '2' })
    expect(cfg.port).toBe(2)
  })

  it('reads switches and --help / -h', () => {
    expect(parseArgs(['--trust-proxy', '--dev-tokens'])).toMatchObject({ trustProxy: true, devTokens: true, help: false })
    expect(parseArgs(['--help']).help).toBe(true)
    expect(parseArgs(['-h']).help).toBe(true)
  })

  it('lets the command line win over the environment', () => {
    expect(parseArgs([], { PLAZA_PORT: '9000' }).port).toBe(9000)
    expect(parseArgs(['--port=9001'], { PLAZA_PORT: '9000' }).port).toBe(9001)
    expect(parseArgs([], { PLAZA_YWEBRTC_LIMITS: 'frameBytes=1000,topicBytes=20', PLAZA_YWEBRTC_AUTH: 'x=required,off' })).toMatchObject({
      ywebrtcLimits: { ...defaultConfig().ywebrtcLimits, frameBytes: 1000, topicBytes: 20 },
      ywebrtcAuth: 'off',
      ywebrtcAuthPerApp: { x: 'required' },
    })
  })

  it('reads the y-webrtc limits and policies', () => {
    const cfg = parseArgs(['--ywebrtc-limit', 'topicsPerSocket=5', '--ywebrtc-limit=framesPerSecond=9', '--ywebrtc-auth=required', '--ywebrtc-auth', 'open=off'])
    expect(cfg.ywebrtcLimits).toEqual({ ...defaultConfig().ywebrtcLimits, topicsPerSocket: 5, framesPerSecond: 9 })
    expect(cfg.ywebrtcAuth).toBe('required')
    expect(cfg.ywebrtcAuthPerApp).toEqual({ open: 'off' })
  })

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['stray'], /Unexpected argument 'stray'/],
    [['--port'], /argument missing/],
    [['--port', '--host', 'x'], /ambiguous/],
    [['--port=abc'], /port wants a number/],
    [['--help=yes'], /does not take an argument/],
    [['--ywebrtc-limit', 'nope=1'], /--ywebrtc-limit wants NAME=N/],
    [['--ywebrtc-limit', 'frameBytes=0'], /--ywebrtc-limit wants NAME=N/],
    [['--ywebrtc-limit', 'frameBytes'], /--ywebrtc-limit wants NAME=N/],
    [['--ywebrtc-auth', 'maybe'], /--ywebrtc-auth wants \[APP=\]off\|optional\|required/],
    [['--engine=mongo'], /--engine wants local\|redis/],
  ])('refuses %j with a usage error', (argv, message) => {
    expect(usage(argv)).toMatch(message)
  })
})
