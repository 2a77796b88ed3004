import type { DeliveryHost } from '../src/delivery/peer-delivery.js'

/** A DeliveryHost with an open direct link to everyone and no relay: tests override what they watch. */
export function directHost(over: Partial<DeliveryHost> = {}): DeliveryHost {
  return {
    appId: 'app',
    linkSend: () => true,
    linkOpen: () => true,
    linkWanted: () => undefined,
    linkGone: () => undefined,
    relay: async () => {
      throw new Error('not over the relay')
    },
    sendToNode: () => true,
    deliver: () => true,
    restoredSettled: () => undefined,
    offlineDropped: () => undefined,
    nodeNow: () => null,
    isMember: () => true,
    withinRate: () => true,
    acceptsChannelMessage: () => true,
    ...over,
  }
}
