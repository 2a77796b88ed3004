// Channel sends paced in time, shared by the child processes (agent.mjs, members.mjs).

/** Sends `count` messages made by `text(i)` on `channel`, one every `intervalMs`; resolves with how many resolved (rejects if one threw). */
export async function sendPaced(channel, count, intervalMs, text) {
  const sent = []
  for (let i = 0; i < count; i++) {
    const p = channel.sendMessage({ text: text(i) })
    p.catch(() => undefined)
    sent.push(p)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
  return (await Promise.all(sent)).length
}
