/**
 * Links made with simple-peer, the default link before `createNativeLink`: for an app
 * that wants it, `createClient(appId, options, { createLink: createSimplePeerLink })`. Both speak
 * the same signaling, so clients on either link with each other.
 */
export { createSimplePeerLink } from './mesh/link.js'
