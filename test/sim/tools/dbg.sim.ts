import { it } from 'vitest'
import { World, optionsFor } from '../world.js'
it('dbg', async () => {
  const w = new World(optionsFor(Number(process.env.SIM_SEED)))
  const who = w.users[Number(process.env.WHO ?? 2)]
  const chName = process.env.CH ?? 'hall'
  const start = who.start.bind(who)
  ;(who as any).start = () => {
    start()
    const inst = who.instance as any
    const ch = inst.channels.get(chName).channel
    ch.awareness.on('change', (ev: any, origin: any) => {
      const states = [...ch.awareness.getStates()].map(([id, s]: any) => `${id}:${s?.uid}:${s?.n}`).join(',')
      w.log.note(`AW ${who.uid}#${inst.n} ${chName} ${JSON.stringify(ev)} origin=${origin} states=${states}`)
    })
  }
  await w.run()
  console.log(w.log.trace.filter((l) => new RegExp(process.env.SIM_GREP ?? 'AW').test(l)).join('\n'))
}, 60000)
