import {
  ConnectionChangeReason,
  ConnectionState,
  ErrorCode,
  createClient,
  type PlazaError,
  type LocalInvitation,
  type PlazaChannel,
  type PlazaClient,
  type ReceivedMessage,
  type RemoteInvitation,
} from '@plaza/client'
import { Whiteboard } from './whiteboard.js'
import { MediaUi } from './media-ui.js'

declare global {
  interface Window {
    /** The page's client and room channel, for the browser tests and the console. */
    plaza?: { client: PlazaClient; channel: PlazaChannel }
  }
}

interface Profile {
  name: string
  room: string
  role: 'teacher' | 'student'
}

interface MemberState {
  uid?: string
  role?: string
  hand?: boolean
  speaking?: boolean
}

const STORE_KEY = 'plaza-demo-profile'
const app = document.getElementById('app')!
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...kids: (Node | string)[]) => {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v)
  node.append(...kids)
  return node
}
const $ = <T extends HTMLElement = HTMLElement>(testid: string) => app.querySelector<T>(`[data-testid="${testid}"]`)!

function showLogin(message = ''): void {
  const saved = JSON.parse(localStorage.getItem(STORE_KEY) ?? 'null') as Profile | null
  app.replaceChildren(
    el(
      'form',
      { class: 'login', 'data-testid': 'login' },
      el('h1', {}, 'Plaza classroom'),
      el('p', { class: 'muted' }, 'Messages go peer to peer over WebRTC; the rendezvous only introduces you.'),
      message ? el('p', { class: 'warn', 'data-testid': 'login-message' }, message) : '',
      el('label', {}, 'Your name', el('input', { name: 'name', required: '', maxlength: '32', value: saved?.name ?? '', 'data-testid': 'login-name' })),
      el('label', {}, 'Room', el('input', { name: 'room', required: '', maxlength: '32', value: saved?.room ?? 'physics-101', 'data-testid': 'login-room' })),
      el(
        'label',
        {},
        'Role',
        el('select', { name: 'role', 'data-testid': 'login-role' }, el('option', { value: 'student' }, 'Student'), el('option', { value: 'teacher' }, 'Teacher')),
      ),
      el('button', { type: 'submit', 'data-testid': 'login-submit' }, 'Enter the room'),
    ),
  )
  const form = $('login') as HTMLFormElement
  if (saved) (form.elements.namedItem('role') as HTMLSelectElement).value = saved.role
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const data = new FormData(form)
    const profile: Profile = { name: String(data.get('name')).trim(), room: String(data.get('room')).trim(), role: data.get('role') === 'teacher' ? 'teacher' : 'student' }
    localStorage.setItem(STORE_KEY, JSON.stringify(profile))
    void enter(profile)
  })
}

async function enter(profile: Profile): Promise<void> {
  const res = await fetch(`/dev/token?uid=${encodeURIComponent(profile.name)}&role=${profile.role}`)
  if (!res.ok) return showLogin(`Could not get a token (${res.status}): is this a development node?`)
  const { appId, token } = (await res.json()) as { appId: string; token: string }
  const client = createClient(appId, { rendezvousUrl: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}` })
  const channel = client.createChannel(profile.room)
  window.plaza = { client, channel }
  const room = new Room(client, channel, profile)
  await room.start(token)
}

class Room {
  private readonly members = new Set<string>()
  private whiteboard!: Whiteboard
  private invitation: LocalInvitation | null = null
  private readonly media: MediaUi

  constructor(
    private readonly client: PlazaClient,
    private readonly channel: PlazaChannel,
    private readonly me: Profile,
  ) {
    this.media = new MediaUi({ client, channel, me: me.name, el, log: (from, body, kind) => this.log(from, body, kind) })
  }

  async start(token: string): Promise<void> {
    this.render()
    // Offline-first: what this browser last saw of the room shows at once.
    this.showAttributes(await this.channel.loadCached())
    this.wire()
    // Offline-first: without a network the room stays up (from the cache) and login is retried.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.login({ uid: this.me.name, token })
        await this.channel.join()
        break
      } catch (err) {
        const code = (err as PlazaError).code
        if (code !== ErrorCode.NOT_CONNECTED && code !== ErrorCode.TIMEOUT) return showLogin(`Could not enter: ${(err as Error).message}`)
        if (this.client.connectionState === ConnectionState.CONNECTED) await this.client.logout()
        $('conn-state').textContent = 'OFFLINE — retrying'
        await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)))
      }
    }
    this.channel.awareness.setLocalStateField('role', this.me.role)
    this.channel.awareness.setLocalStateField('hand', false)
    for (const m of await this.channel.getMembers()) this.members.add(m)
    this.renderMembers()
    this.showAttributes(this.channel.attributes())
    this.whiteboard.requestState()
    this.log('system', `You joined ${this.me.room} as ${this.me.role}.`)
  }

  private render(): void {
    const canvas = el('canvas', { width: '1000', height: '600', 'data-testid': 'whiteboard' }) as HTMLCanvasElement
    app.replaceChildren(
      el(
        'header',
        {},
        el('strong', {}, `Room ${this.me.room}`),
        el('span', {}, ` · ${this.me.name} (${this.me.role})`),
        el('span', { class: 'state', 'data-testid': 'conn-state' }, 'DISCONNECTED'),
        el('button', { 'data-testid': 'raise-hand' }, 'Raise hand'),
        el('button', { 'data-testid': 'leave', class: 'secondary' }, 'Leave'),
      ),
      el('div', { class: 'banner', hidden: '', 'data-testid': 'banner' }),
      el(
        'main',
        {},
        el('section', { class: 'members' }, el('h2', {}, 'Members'), el('ul', { 'data-testid': 'members' }), el('p', { class: 'muted', 'data-testid': 'invite-status' })),
        el(
          'section',
          { class: 'chat' },
          el('h2', {}, 'Chat'),
          el('ol', { 'data-testid': 'chat-log' }),
          el(
            'form',
            { 'data-testid': 'chat-form' },
            el('select', { 'data-testid': 'chat-to' }, el('option', { value: '' }, 'Everyone')),
            el('input', { 'data-testid': 'chat-input', placeholder: 'Say something', maxlength: '2000', autocomplete: 'off' }),
            el('button', { type: 'submit', 'data-testid': 'chat-send' }, 'Send'),
            this.media.controls(() => $<HTMLSelectElement>('chat-to').value),
          ),
        ),
        el(
          'section',
          { class: 'board' },
          el('h2', {}, 'Notice board'),
          el('p', { 'data-testid': 'notice-text', class: 'notice' }),
          el('textarea', { 'data-testid': 'notice', rows: '2', placeholder: 'Post a notice for the room' }),
          el('button', { 'data-testid': 'notice-save' }, 'Post'),
          el('h2', {}, 'Slide'),
          el(
            'div',
            { class: 'slide' },
            el('button', { 'data-testid': 'slide-prev', class: 'secondary' }, '◀'),
            el('span', { 'data-testid': 'slide' }, '1'),
            el('button', { 'data-testid': 'slide-next', class: 'secondary' }, '▶'),
          ),
        ),
        el(
          'section',
          { class: 'wb' },
          el('h2', {}, 'Whiteboard ', el('span', { class: 'muted', 'data-testid': 'stroke-count' }, '0 strokes')),
          canvas,
        ),
      ),
    )
    const colors = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c']
    const color = colors[[...this.me.name].reduce((a, c) => a + c.charCodeAt(0), 0) % colors.length]
    this.whiteboard = new Whiteboard(canvas, this.client, this.channel, color, (n) => ($('stroke-count').textContent = `${n} stroke${n === 1 ? '' : 's'}`))
  }

  private wire(): void {
    const { client, channel } = this
    client.on('ConnectionStateChanged', (state, reason) => {
      $('conn-state').textContent = state
      $('conn-state').dataset.state = state
      if (state === ConnectionState.ABORTED && reason === ConnectionChangeReason.REMOTE_LOGIN) {
        this.banner(`“${this.me.name}” entered from another tab or device, so this one was signed out.`)
      }
    })
    addEventListener('pagehide', () => void client.flushStorage())
    channel.on('ChannelMessage', (m, from) => {
      if (m.messageType === 'RAW') this.whiteboard.onMessage(from, m.rawMessage, m.description)
      else if (m.messageType === 'TEXT') this.log(from, m.text)
      else this.media.received(m, from, false)
    })
    client.on('MessageFromPeer', (m: ReceivedMessage, from) => {
      if (m.messageType === 'RAW') this.whiteboard.onMessage(from, m.rawMessage, m.description)
      else if (m.messageType === 'TEXT') this.log(from, m.text, 'private')
      else this.media.received(m, from, true)
    })
    client.on('OutboxMessageSettled', (peer, m, r) => {
      if (m.messageType === 'TEXT') this.log('system', `Your message to ${peer} (“${m.text}”) written before the reload: ${r.state}`)
    })
    channel.on('MemberJoined', (uid) => {
      this.members.add(uid)
      this.renderMembers()
      this.log('system', `${uid} joined`)
    })
    channel.on('MemberLeft', (uid) => {
      this.members.delete(uid)
      this.renderMembers()
      this.log('system', `${uid} left`)
    })
    channel.on('AttributesUpdated', (a) => this.showAttributes(a))
    let muted = false
    channel.on('MemberStateChanged', (uid, st) => {
      this.renderMembers()
      if (uid !== this.me.name || st.muted === muted) return
      muted = st.muted
      this.log('system', muted ? 'The teacher muted you: your messages reach no one.' : 'You may speak in the chat again.')
    })
    channel.on('RemovedFromChannel', () => {
      this.members.clear()
      this.renderMembers()
      const b = this.banner('The teacher removed you from this room.')
      const again = el('button', { 'data-testid': 'rejoin' }, 'Join again')
      again.addEventListener('click', () => {
        channel.join().then(
          () => this.log('system', `You joined ${this.me.room} again.`),
          (err: Error) => this.log('system', `Could not join again: ${err.message}`),
        )
      })
      b.append(' ', again)
      b.dataset.testid = 'removed'
    })
    channel.awareness.on('change', () => this.renderMembers())
    client.on('RemoteInvitationReceived', (inv: RemoteInvitation) => this.onInvitation(inv))

    $('raise-hand').addEventListener('click', () => {
      const up = !(channel.awareness.getLocalState() as MemberState | null)?.hand
      channel.awareness.setLocalStateField('hand', up)
      $('raise-hand').textContent = up ? 'Lower hand' : 'Raise hand'
    })
    $('leave').addEventListener('click', async () => {
      localStorage.removeItem(STORE_KEY)
      await client.logout()
      showLogin()
    })
    $('chat-form').addEventListener('submit', (e) => {
      e.preventDefault()
      const input = $<HTMLInputElement>('chat-input')
      const text = input.value.trim()
      const to = $<HTMLSelectElement>('chat-to').value
      if (!text) return
      input.value = ''
      if (to) {
        const entry = this.log(this.me.name, `→ ${to}: ${text}`, 'private pending')
        void client.sendMessageToPeer({ text }, to, { enableOfflineMessaging: true }).then((r) => {
          entry.classList.remove('pending')
          entry.dataset.result = r.state
        })
        // Safe on this device even if the page goes away before it is delivered.
        void client.flushStorage().then(() => (entry.dataset.stored = ''))
      } else {
        this.log(this.me.name, text, 'mine')
        channel.sendMessage({ text }).catch((err: Error) => this.log('system', `Not sent: ${err.message}`))
      }
    })
    $('notice-save').addEventListener('click', () => {
      const text = $<HTMLTextAreaElement>('notice').value
      void client.addOrUpdateChannelAttributes(this.me.room, { notice: text }, { enableNotificationToChannelMembers: true }).then(() =>
        this.showAttributes(channel.attributes()),
      )
    })
    const slide = (delta: number) => {
      const next = Math.max(1, Number($('slide').textContent) + delta)
      void client.addOrUpdateChannelAttributes(this.me.room, { slide: String(next) }, { enableNotificationToChannelMembers: true }).then(() =>
        this.showAttributes(channel.attributes()),
      )
    }
    $('slide-next').addEventListener('click', () => slide(1))
    $('slide-prev').addEventListener('click', () => slide(-1))
  }

  private showAttributes(attrs: Record<string, { value: string; lastUpdateUserId: string }>): void {
    if (attrs.notice) {
      $('notice-text').textContent = attrs.notice.value
      $('notice-text').title = `posted by ${attrs.notice.lastUpdateUserId}`
    }
    if (attrs.slide) $('slide').textContent = attrs.slide.value
  }

  private states(): Map<string, MemberState> {
    const out = new Map<string, MemberState>()
    for (const st of this.channel.awareness.getStates().values()) {
      const s = st as MemberState
      if (s?.uid) out.set(s.uid, s)
    }
    return out
  }

  private renderMembers(): void {
    const states = this.states()
    const list = $('members')
    const all = [this.me.name, ...[...this.members].filter((m) => m !== this.me.name).sort()]
    list.replaceChildren(
      ...all.map((uid) => {
        const s = states.get(uid) ?? {}
        const li = el(
          'li',
          { 'data-member': uid },
          el('span', { class: 'name' }, uid === this.me.name ? `${uid} (you)` : uid),
          el('span', { class: 'role' }, this.channel.getMemberState(uid).role || s.role || ''),
          this.channel.getMemberState(uid).muted ? el('span', { class: 'badge muted', 'data-muted': '' }, 'muted') : '',
          s.hand ? el('span', { class: 'badge hand', 'data-hand': '' }, 'hand up') : '',
          s.speaking ? el('span', { class: 'badge speaking', 'data-speaking': '' }, 'speaking') : '',
        )
        if (uid !== this.me.name && this.me.role === 'teacher') {
          const b = el('button', { class: 'small', 'data-invite': uid }, 'Invite to speak')
          b.addEventListener('click', () => void this.inviteToSpeak(uid))
          const muted = this.channel.getMemberState(uid).muted
          const mute = el('button', { class: 'small secondary', [muted ? 'data-unmute' : 'data-mute']: uid }, muted ? 'Unmute' : 'Mute')
          mute.addEventListener('click', () => void (muted ? this.channel.unmuteMember(uid) : this.channel.muteMember(uid)).catch((e: Error) => this.log('system', e.message)))
          const remove = el('button', { class: 'small secondary', 'data-remove': uid }, 'Remove')
          remove.addEventListener('click', () => void this.channel.removeMember(uid, { seconds: 600 }).catch((e: Error) => this.log('system', e.message)))
          li.append(b, mute, remove)
        }
        return li
      }),
    )
    const to = $<HTMLSelectElement>('chat-to')
    const chosen = to.value
    to.replaceChildren(el('option', { value: '' }, 'Everyone'), ...all.filter((m) => m !== this.me.name).map((m) => el('option', { value: m }, `Only ${m}`)))
    to.value = all.includes(chosen) ? chosen : ''
  }

  private async inviteToSpeak(uid: string): Promise<void> {
    const inv = this.client.createLocalInvitation(uid)
    inv.content = `${this.me.name} invites you to speak`
    inv.channelId = this.me.room
    this.invitation = inv
    const status = (text: string) => ($('invite-status').textContent = text)
    inv.on('LocalInvitationReceivedByPeer', () => status(`${uid} sees your invitation…`))
    inv.on('LocalInvitationAccepted', () => status(`${uid} accepted: they are speaking`))
    inv.on('LocalInvitationRefused', () => status(`${uid} declined`))
    inv.on('LocalInvitationFailure', (reason) => status(`Invitation to ${uid} failed: ${reason}`))
    status(`Inviting ${uid}…`)
    await inv.send()
  }

  private onInvitation(inv: RemoteInvitation): void {
    const banner = this.banner(`${inv.content}.`)
    const accept = el('button', { 'data-testid': 'invite-accept' }, 'Accept')
    const decline = el('button', { 'data-testid': 'invite-decline', class: 'secondary' }, 'Decline')
    banner.append(' ', accept, ' ', decline)
    banner.dataset.testid = 'invitation'
    const done = () => {
      banner.hidden = true
      banner.dataset.testid = 'banner'
    }
    accept.addEventListener('click', () => {
      done()
      void inv.accept()
      this.channel.awareness.setLocalStateField('speaking', true)
    })
    decline.addEventListener('click', () => {
      done()
      void inv.refuse()
    })
    inv.on('RemoteInvitationCanceled', done)
    inv.on('RemoteInvitationFailure', done)
  }

  private banner(text: string): HTMLElement {
    const b = app.querySelector<HTMLElement>('.banner')!
    b.hidden = false
    b.replaceChildren(text)
    return b
  }

  private log(from: string, body: string | Node, kind = ''): HTMLElement {
    const entry = el('li', { class: kind, 'data-from': from }, el('b', {}, from === 'system' ? '' : `${from}: `), body)
    const log = $('chat-log')
    log.append(entry)
    log.scrollTop = log.scrollHeight
    return entry
  }
}

const saved = JSON.parse(localStorage.getItem(STORE_KEY) ?? 'null') as Profile | null
if (saved) void enter(saved)
else showLogin()
