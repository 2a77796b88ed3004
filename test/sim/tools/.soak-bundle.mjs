// test/sim/checker.ts
import { PeerMessageState } from "@plaza/client";

// test/sim/user.ts
import {
  ConnectionState,
  PlazaClient,
  PlazaError
} from "@plaza/client";
import { createHash } from "node:crypto";

// test/sim/event-heap.ts
var EventHeap = class {
  h = [];
  get size() {
    return this.h.length;
  }
  /** The earliest event, left in place. */
  peek() {
    return this.h[0];
  }
  push(t) {
    const h = this.h;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = i - 1 >> 1;
      if (!before(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  /** Takes the earliest event out (the heap must not be empty). */
  pop() {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
};
function before(a, b) {
  return a.at < b.at || a.at === b.at && a.seq < b.seq;
}

// test/sim/scheduler.ts
var Domain = class {
  constructor(name) {
    this.name = name;
  }
  name;
  dead = false;
  kill() {
    this.dead = true;
  }
};
var Scheduler = class {
  now = 17e11;
  heap = new EventHeap();
  seq = 0;
  events = 0;
  /** Called after every event (debugging: it must not schedule anything). */
  afterEvent = null;
  /** Runs `fn` in `domain` after `ms` (virtual). */
  at(domain, ms, fn, every = 0) {
    const ev = { at: this.now + Math.max(0, Math.ceil(ms)), seq: this.seq++, domain, fn, every, cancelled: false };
    this.heap.push(ev);
    return ev;
  }
  /** A Clock for the code of one domain. */
  clock(domain) {
    return {
      now: () => this.now,
      setTimeout: (fn, ms) => this.at(domain, ms, fn),
      clearTimeout: (h) => this.cancel(h),
      setInterval: (fn, ms) => this.at(domain, Math.max(1, Math.ceil(ms)), fn, Math.max(1, Math.ceil(ms))),
      clearInterval: (h) => this.cancel(h)
    };
  }
  cancel(h) {
    if (h && typeof h === "object" && "cancelled" in h) h.cancelled = true;
  }
  /** Runs events until the queue is empty or virtual time would pass `until`. */
  async runUntil(until) {
    for (; ; ) {
      const ev = this.heap.peek();
      if (!ev || ev.at > until) break;
      this.heap.pop();
      if (ev.cancelled || ev.domain.dead) continue;
      this.now = ev.at;
      if (ev.every) {
        ev.at += ev.every;
        ev.seq = this.seq++;
        this.heap.push(ev);
      }
      this.events++;
      ev.fn();
      await new Promise((r) => process.nextTick(r));
      this.afterEvent?.();
    }
    this.now = Math.max(this.now, until);
  }
};

// test/sim/store.ts
import { MemoryLevel } from "memory-level";
var SimDisk = class {
  db = new MemoryLevel({ keyEncoding: "utf8", valueEncoding: "view" });
  opened = false;
  /**
   * The database as one node process sees it: reads are immediate; writes (batch, put, del)
   * land and resolve after an fsync delay, or never if the process dies first.
   */
  forProcess(sched, domain, prng) {
    const db = this.db;
    const disk = this;
    const delayed = (op) => (...args) => new Promise((resolve, reject) => {
      sched.at(domain, prng.int(1, 8), () => {
        op(...args).then(resolve, reject);
      });
    });
    const batch = delayed((ops) => db.batch(ops));
    const put = delayed((k, v) => db.put(k, v));
    const del = delayed((k) => db.del(k));
    return new Proxy(db, {
      get(target, prop, receiver) {
        if (prop === "batch") return (ops) => batch(ops);
        if (prop === "put") return (k, v2) => put(k, v2);
        if (prop === "del") return (k) => del(k);
        if (prop === "open") return async () => {
          if (!disk.opened) await db.open();
          disk.opened = true;
        };
        if (prop === "close") return async () => void 0;
        const v = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      }
    });
  }
};
var SimClientStorage = class {
  data = /* @__PURE__ */ new Map();
  /** The storage as one page (client instance) sees it. */
  forPage(sched, domain, prng) {
    const data = this.data;
    const later = (fn) => new Promise((resolve) => sched.at(domain, prng.int(1, 4), () => resolve(fn())));
    return {
      durable: true,
      get: (key) => later(() => data.get(key)),
      set: (key, value) => later(() => void data.set(key, Uint8Array.from(value))),
      del: (key) => later(() => void data.delete(key))
    };
  }
};

// test/sim/user.ts
var APP = "sim";
var sha256Hex = (b) => createHash("sha256").update(b).digest("hex");
var fastSha256 = () => {
  const h = createHash("sha256");
  return { update: (b) => void h.update(b), digest: () => new Uint8Array(h.digest()) };
};
var tokenOf = (uid) => `sim.${uid}`;
var SimUser = class {
  constructor(uid, w, prng) {
    this.uid = uid;
    this.w = w;
    this.prng = prng;
  }
  uid;
  w;
  prng;
  storage = new SimClientStorage();
  instance = null;
  instances = 0;
  sendCount = 0;
  mediaCount = 0;
  channelCount = 0;
  /** Channels the app means to be in (it joins them again after a reload). */
  wants = /* @__PURE__ */ new Set();
  /** A new page: a fresh client over the same storage, which logs in and joins what the app wants. */
  start() {
    const w = this.w;
    const n = ++this.instances;
    const domain = new Domain(`${this.uid}#${n}`);
    const net = w.net.user(this.uid, domain);
    const rng = this.prng.fork();
    const runtime = { clock: w.sched.clock(domain), random: () => rng.next(), randomId: () => rng.id(), virtualTime: true, overlayKeys: () => null };
    const client = new PlazaClient(
      APP,
      {
        rendezvousUrl: "ws://sim",
        WebSocket: net.WebSocket(),
        storage: this.storage.forPage(w.sched, domain, rng),
        reconnectMinMs: 300,
        reconnectMaxMs: 4e3
      },
      { runtime, createLink: net.createLink(), sha256: fastSha256 }
    );
    const inst = { n, domain, net, client, channels: /* @__PURE__ */ new Map(), epoch: 0, loggedOut: false, presence: /* @__PURE__ */ new Map(), outgoing: [], incoming: [], busy: /* @__PURE__ */ new Set(), subscribed: false };
    this.instance = inst;
    this.wire(inst);
    w.log.note(`${this.uid}#${n} starts`);
    void this.login(inst);
    const act = () => {
      if (w.active && this.instance === inst) this.act(inst);
      if (!inst.subscribed && !inst.loggedOut && inst.client.connectionState === ConnectionState.CONNECTED) this.subscribe(inst);
      for (const view of inst.channels.values()) {
        if (view.channel.joined && view.members === null && !inst.busy.has(view.channel.channelId)) void this.refreshMembers(inst, view.channel.channelId);
      }
      w.sched.at(domain, rng.int(100, 1200), act);
    };
    w.sched.at(domain, rng.int(100, 1200), act);
  }
  /**
   * The page dies: `crash` loses storage writes in flight (a kill); otherwise the app flushes
   * its storage on the way out (a reload with a pagehide handler, as the demo does).
   */
  async stop(crash, nodeHearsClose) {
    const inst = this.instance;
    if (!inst) return;
    this.instance = null;
    if (!crash) await inst.client.flushStorage();
    this.w.log.note(`${this.uid}#${inst.n} ${crash ? "crashes" : "goes away"}`);
    this.w.log.ends.push({ uid: this.uid, instance: inst.n, at: this.w.sched.now, crash });
    inst.domain.kill();
    inst.net.gone(nodeHearsClose);
  }
  /** Logs in, retrying like an offline-first app; then joins and subscribes. */
  async login(inst) {
    const w = this.w;
    for (let attempt = 0; this.instance === inst; attempt++) {
      try {
        await inst.client.login({ uid: this.uid, token: tokenOf(this.uid) });
        break;
      } catch {
        await new Promise((r) => w.sched.at(inst.domain, Math.min(5e3, 300 * 2 ** attempt), r));
      }
    }
    if (this.instance !== inst) return;
    inst.loggedOut = false;
    this.subscribe(inst);
    for (const ch of this.wants) void this.join(inst, ch);
  }
  /** Follows the others' presence; an app whose request failed tries again later. */
  subscribe(inst) {
    const others = this.w.users.filter((u) => u !== this).map((u) => u.uid);
    inst.client.subscribePeersOnlineStatus(others).then(
      () => inst.subscribed = true,
      () => void 0
    );
  }
  async logout() {
    const inst = this.instance;
    if (!inst || inst.client.connectionState !== ConnectionState.CONNECTED) return;
    this.w.log.note(`${this.uid}#${inst.n} logs out`);
    inst.loggedOut = true;
    inst.subscribed = false;
    inst.epoch++;
    await inst.client.logout().catch(() => void 0);
  }
  wire(inst) {
    const { client } = inst;
    const log = this.w.log;
    client.on("MessageFromPeer", (m, from2, props) => {
      const id = m.messageType === "TEXT" ? m.text : m.messageType === "FILE" ? m.description : "";
      log.deliveries.push({ id, from: from2, to: this.uid, instance: inst.n, at: this.w.sched.now, path: props.path, channel: "" });
      log.note(`${this.uid}#${inst.n} got ${id} ${props.path}`);
      if (m.messageType === "FILE" && this.prng.chance(0.8)) this.download(inst, id, m);
    });
    client.on("OfflineMessagesDropped", (from2, count) => {
      log.dropNotice(this.uid, from2, count);
      log.note(`${this.uid}#${inst.n} told ${count} stored messages from ${from2} were dropped`);
    });
    client.on("OutboxMessageSettled", (_peer, m, r) => {
      const s = log.peerSends.get(m.messageType === "TEXT" ? m.text : "");
      if (s && s.state === void 0) Object.assign(s, { state: r.state, settledAt: this.w.sched.now, restored: true });
    });
    client.on("ConnectionStateChanged", (state, reason) => log.note(`${this.uid}#${inst.n} ${state} ${reason}`));
    client.on("PeersOnlineStatusChanged", (status) => {
      for (const [uid, state] of Object.entries(status)) inst.presence.set(uid, state);
      log.note(`${this.uid}#${inst.n} presence ${JSON.stringify(status)}`);
    });
    client.on("RemoteInvitationReceived", (inv) => {
      inst.incoming.push(inv);
      log.note(`${this.uid}#${inst.n} invited by ${inv.callerId}: ${inv.id}`);
      for (const ev of ["RemoteInvitationAccepted", "RemoteInvitationRefused", "RemoteInvitationCanceled", "RemoteInvitationFailure"]) {
        inv.on(ev, (...args) => log.note(`${this.uid}#${inst.n} ${inv.id} ${ev} ${args.join(" ")}`));
      }
      const rng = this.prng;
      const r = rng.next();
      const answer = r < 0.4 ? "accept" : r < 0.7 ? "refuse" : null;
      if (!answer) return;
      this.w.sched.at(inst.domain, rng.int(10, 3e3), () => {
        if (inv.state !== "INVITATION_RECEIVED") return;
        const p = answer === "accept" ? inv.accept() : inv.refuse();
        p.catch(() => void 0);
      });
    });
    for (const id of this.w.channels) {
      const channel = client.createChannel(id);
      const view = { channel, members: null };
      inst.channels.set(id, view);
      channel.on("ChannelMessage", (m, from2) => {
        const mid = m.messageType === "TEXT" ? m.text : "";
        log.deliveries.push({ id: mid, from: from2, to: this.uid, instance: inst.n, at: this.w.sched.now, path: "", channel: id });
      });
      channel.on("MemberJoined", (uid) => {
        view.members?.add(uid);
        log.note(`${this.uid}#${inst.n} ${id}: ${uid} joined`);
      });
      channel.on("MemberLeft", (uid) => {
        view.members?.delete(uid);
        log.note(`${this.uid}#${inst.n} ${id}: ${uid} left`);
      });
    }
  }
  async join(inst, id) {
    const view = inst.channels.get(id);
    if (view.channel.joined || inst.busy.has(id)) return;
    inst.busy.add(id);
    try {
      view.members = null;
      await view.channel.join();
      this.w.log.note(`${this.uid}#${inst.n} joined ${id}`);
      const list = await view.channel.getMembers();
      view.members = new Set(list.filter((m) => m !== this.uid));
    } catch (err) {
      this.w.log.note(`${this.uid}#${inst.n} join ${id} failed: ${err.codeName ?? err}`);
    } finally {
      inst.busy.delete(id);
    }
  }
  async refreshMembers(inst, id) {
    const view = inst.channels.get(id);
    inst.busy.add(id);
    try {
      const list = await view.channel.getMembers();
      if (view.channel.joined) view.members = new Set(list.filter((m) => m !== this.uid));
    } catch {
    } finally {
      inst.busy.delete(id);
    }
  }
  async leave(inst, id) {
    const view = inst.channels.get(id);
    if (!view.channel.joined || inst.busy.has(id)) return;
    inst.busy.add(id);
    this.wants.delete(id);
    try {
      await view.channel.leave();
    } catch {
    } finally {
      view.members = null;
      inst.busy.delete(id);
      this.w.log.note(`${this.uid}#${inst.n} left ${id}`);
    }
  }
  /** Fetches a media message's file; logs whether the bytes are the sender's. */
  download(inst, id, m) {
    const d = { id, to: this.uid, instance: inst.n, at: this.w.sched.now };
    this.w.log.downloads.push(d);
    inst.client.downloadMedia(m).then(
      async (blob) => {
        d.outcome = sha256Hex(new Uint8Array(await blob.arrayBuffer())) === this.w.log.mediaFiles.get(m.mediaId) ? "ok" : "wrong bytes";
        this.w.log.note(`${this.uid}#${inst.n} downloaded ${id}: ${d.outcome}`);
      },
      (err) => {
        d.outcome = err instanceof PlazaError ? err.codeName : String(err);
        this.w.log.note(`${this.uid}#${inst.n} download of ${id} failed: ${d.outcome}`);
      }
    );
  }
  /** A file of 1 byte to 700 KiB (up to three pieces), from the simulation's randomness. */
  makeFile() {
    const size = this.prng.int(1, 700 * 1024);
    const words = new Uint32Array(Math.ceil(size / 4));
    let x = this.prng.int(1, 2147483647);
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
    return new Uint8Array(words.buffer, 0, size);
  }
  /** One random thing an app would do. */
  act(inst) {
    const w = this.w;
    const rng = this.prng;
    const { client } = inst;
    const log = (line) => w.log.note(line);
    if (inst.loggedOut) return;
    const others = w.users.filter((u) => u !== this);
    const r = rng.next();
    if (r < 0.35) {
      const to2 = rng.pick(others).uid;
      const id = `p:${this.uid}:${this.sendCount}`;
      const offline = rng.chance(0.6);
      const send = { id, from: this.uid, instance: inst.n, epoch: inst.epoch, to: to2, offline, n: this.sendCount++, at: w.sched.now };
      w.log.peerSends.set(id, send);
      log(`${this.uid}#${inst.n} sends ${id} to ${to2}${offline ? " (offline ok)" : ""}`);
      void client.sendMessageToPeer({ text: id }, to2, { enableOfflineMessaging: offline }).then((res) => {
        const s = w.log.peerSends.get(id);
        if (s.state === void 0) Object.assign(s, { state: res.state, settledAt: w.sched.now });
        log(`${id}: ${res.state} ${res.path}`);
      });
    } else if (r < 0.55) {
      const joined = [...inst.channels.values()].filter((v) => v.channel.joined);
      if (!joined.length) return;
      const view = rng.pick(joined);
      const id = `c:${this.uid}:${this.channelCount}`;
      const send = { id, from: this.uid, instance: inst.n, epoch: inst.epoch, channel: view.channel.channelId, n: this.channelCount++, at: w.sched.now };
      w.log.channelSends.set(id, send);
      view.channel.sendMessage({ text: id }).then(
        (result) => Object.assign(w.log.channelSends.get(id), { result }),
        (err) => Object.assign(w.log.channelSends.get(id), { error: err instanceof PlazaError ? err.codeName : String(err) })
      );
    } else if (r < 0.63) {
      const id = rng.pick(w.channels);
      if (inst.channels.get(id).channel.joined) {
        if (rng.chance(0.4)) void this.leave(inst, id);
      } else {
        this.wants.add(id);
        void this.join(inst, id);
      }
    } else if (r < 0.73) {
      const id = rng.pick(w.channels);
      const key = `k${rng.int(0, 4)}`;
      const value = `${this.uid}.${rng.int(0, 1e6)}`;
      const del = rng.chance(0.15);
      const how = inst.channels.get(id).channel.joined ? "member" : "outsider";
      log(`${this.uid}#${inst.n} ${how} writes ${id} ${del ? `-${key}` : `${key}=${value}`}`);
      const p = del ? client.deleteChannelAttributesByKeys(id, [key]) : client.addOrUpdateChannelAttributes(id, { [key]: value }, { enableNotificationToChannelMembers: rng.chance(0.5) });
      p.then(
        () => log(`${this.uid}#${inst.n} write ${id} ${key} ok`),
        (e) => log(`${this.uid}#${inst.n} write ${id} ${key} failed: ${e.codeName ?? e}`)
      );
    } else if (r < 0.8) {
      const joined = [...inst.channels.values()].filter((v) => v.channel.joined);
      if (joined.length) rng.pick(joined).channel.awareness.setLocalStateField("n", rng.int(0, 1e6));
    } else if (r < 0.86) {
      if (inst.outgoing.filter((i) => i.state === "SENT_TO_REMOTE" || i.state === "RECEIVED_BY_REMOTE").length >= 3) return;
      const inv = client.createLocalInvitation(rng.pick(others).uid);
      inv.content = `inv:${this.uid}`;
      inst.outgoing.push(inv);
      log(`${this.uid}#${inst.n} invites ${inv.calleeId}: ${inv.id}`);
      for (const ev of ["LocalInvitationReceivedByPeer", "LocalInvitationAccepted", "LocalInvitationRefused", "LocalInvitationCanceled", "LocalInvitationFailure"]) {
        inv.on(ev, (...args) => log(`${this.uid}#${inst.n} ${inv.id} ${ev} ${args.join(" ")}`));
      }
      inv.send().catch(() => void 0);
      if (rng.chance(0.25)) {
        w.sched.at(inst.domain, rng.int(50, 5e3), () => {
          if (inv.state === "SENT_TO_REMOTE" || inv.state === "RECEIVED_BY_REMOTE") inv.cancel().catch(() => void 0);
        });
      }
    } else if (r < 0.9) {
      const to2 = rng.pick(others).uid;
      const id = `m:${this.uid}:${this.mediaCount++}`;
      const file = this.makeFile();
      log(`${this.uid}#${inst.n} makes file ${id} (${file.length} bytes) for ${to2}`);
      void client.createMediaMessage(file, { messageType: "FILE", fileName: `${id}.bin`, description: id }).then(
        (msg) => {
          w.log.mediaFiles.set(msg.mediaId, sha256Hex(file));
          if (this.instance !== inst || inst.loggedOut) return;
          const send = { id, from: this.uid, instance: inst.n, epoch: inst.epoch, to: to2, offline: false, n: this.sendCount++, at: w.sched.now };
          w.log.peerSends.set(id, send);
          log(`${this.uid}#${inst.n} sends file ${id} to ${to2}`);
          void client.sendMessageToPeer(msg, to2).then((res) => {
            const s = w.log.peerSends.get(id);
            if (s.state === void 0) Object.assign(s, { state: res.state, settledAt: w.sched.now });
            log(`${id}: ${res.state} ${res.path}`);
          });
        },
        (err) => log(`${id}: not made: ${err instanceof PlazaError ? err.codeName : err}`)
      );
    }
  }
};

// test/sim/checker.ts
var NOT_DELIVERED = /* @__PURE__ */ new Set([
  PeerMessageState.PEER_UNREACHABLE,
  PeerMessageState.FAILURE,
  PeerMessageState.TOO_OFTEN,
  PeerMessageState.INVALID_USER_ID,
  PeerMessageState.INVALID_MESSAGE
]);
var UNKNOWN = /* @__PURE__ */ new Set([PeerMessageState.SENT_TIMEOUT, PeerMessageState.NOT_LOGGED_IN]);
var CRASH_WINDOW_MS = 1e3;
async function check(w) {
  return [...checkMessages(w), ...checkChannels(w), ...await checkDocuments(w), ...checkInvitations(w), ...checkPresence(w), ...checkMedia(w)];
}
function byId(deliveries) {
  const m = /* @__PURE__ */ new Map();
  for (const d of deliveries) m.set(d.id, [...m.get(d.id) ?? [], d]);
  return m;
}
function crashedRightAfter(w, d) {
  return w.log.ends.some((e) => e.crash && e.uid === d.to && e.instance === d.instance && e.at - d.at <= CRASH_WINDOW_MS);
}
function checkMessages(w) {
  const out = [];
  const got = byId(w.log.deliveries.filter((d) => d.channel === ""));
  for (const s of w.log.peerSends.values()) {
    const ds = got.get(s.id) ?? [];
    for (const d of ds) if (d.to !== s.to || d.from !== s.from) out.push(`${s.id} delivered to ${d.to} from ${d.from}`);
    if (ds.length > 1 && !ds.slice(0, -1).every((d) => crashedRightAfter(w, d))) {
      out.push(`${s.id} delivered ${ds.length} times: ${ds.map((d) => `${d.to}#${d.instance}@${d.path}`).join(", ")}`);
    }
    const st = s.state;
    if (st === PeerMessageState.RECEIVED_BY_PEER && ds.length === 0) out.push(`${s.id} RECEIVED_BY_PEER but never delivered`);
    if (st && NOT_DELIVERED.has(st) && ds.length > 0) out.push(`${s.id} answered ${st} but delivered (${ds[0].path})`);
    if (st === PeerMessageState.CACHED_BY_SERVER && ds.length === 0) {
      const told = w.log.dropped.get(s.to)?.get(s.from) ?? 0;
      const lost = [...w.log.peerSends.values()].filter(
        (x) => x.from === s.from && x.to === s.to && x.state === PeerMessageState.CACHED_BY_SERVER && !got.has(x.id)
      ).length;
      if (told < lost) out.push(`${s.id} CACHED_BY_SERVER, never delivered; ${s.to} was told of ${told} dropped from ${s.from}, ${lost} missing`);
    }
  }
  out.push(...checkOrder(w, [...w.log.peerSends.values()], w.log.deliveries.filter((d) => d.channel === "")));
  return out;
}
function checkOrder(w, sends, deliveries) {
  const out = [];
  const sendOf = new Map(sends.map((s) => [s.id, s]));
  const seen = /* @__PURE__ */ new Map();
  for (const d of deliveries) {
    const k = `${d.from}>${d.to}${d.channel ? `@${d.channel}` : ""}`;
    seen.set(k, [...seen.get(k) ?? [], d]);
  }
  for (const [k, list] of seen) {
    let latest = null;
    const had = /* @__PURE__ */ new Set();
    for (const d of list) {
      const s = sendOf.get(d.id);
      if (!s) continue;
      if (had.has(d.id)) continue;
      had.add(d.id);
      if (latest && s.n < latest.n) {
        const otherStream = s.instance !== latest.instance || s.epoch !== latest.epoch;
        const unknown = s.state === void 0 || UNKNOWN.has(s.state);
        if (!(otherStream && unknown) && !crashedRightAfter(w, d)) out.push(`${k}: ${s.id} delivered after ${latest.id}`);
      }
      if (!latest || s.n > latest.n) latest = s;
    }
  }
  return out;
}
function checkChannels(w) {
  const out = [];
  const deliveries = w.log.deliveries.filter((d) => d.channel !== "");
  const got = byId(deliveries);
  for (const s of w.log.channelSends.values()) {
    const ds = got.get(s.id) ?? [];
    const per = /* @__PURE__ */ new Map();
    for (const d of ds) per.set(d.to, (per.get(d.to) ?? 0) + 1);
    for (const [to2, n] of per) {
      if (n > 1 && !ds.filter((d) => d.to === to2).slice(0, -1).every((d) => crashedRightAfter(w, d))) out.push(`${s.id} delivered ${n} times to ${to2}`);
    }
    if (!s.result) continue;
    const failed2 = new Map(s.result.failures.map((f) => [f.memberId, f.state]));
    for (const [member, state] of failed2) if (NOT_DELIVERED.has(state) && per.has(member)) out.push(`${s.id} to ${member}: ${state} but delivered`);
    const confirmed = s.result.members - s.result.failures.length - s.result.unconfirmed;
    const receivers = new Set(per.keys());
    if (confirmed > receivers.size) out.push(`${s.id}: ${confirmed} members confirmed, ${receivers.size} got it`);
  }
  out.push(...checkOrder(w, [...w.log.channelSends.values()].map((s) => ({ ...s, state: s.result ? void 0 : "unknown" })), deliveries));
  const engine = w.engine;
  const isMember = (channel, uid) => engine.membersNow(APP, channel).some((m) => m.uid === uid);
  for (const u of w.users) {
    const inst = u.instance;
    if (!inst) continue;
    for (const [id, view] of inst.channels) {
      if (!view.channel.joined) continue;
      const truth = engine.membersNow(APP, id).map((m) => m.uid).filter((m) => m !== u.uid).sort();
      if (!isMember(id, u.uid)) out.push(`${u.uid} thinks it is in ${id}; the node does not`);
      const seen = view.members ? [...view.members].sort() : null;
      if (JSON.stringify(seen) !== JSON.stringify(truth)) out.push(`${u.uid}'s members of ${id}: ${JSON.stringify(seen)}, node: ${JSON.stringify(truth)}`);
      const states = /* @__PURE__ */ new Map();
      for (const [clientId, st] of view.channel.awareness.getStates()) if (clientId !== view.channel.awareness.clientID) states.set(String(st.uid), st.n ?? null);
      for (const o of w.users) {
        if (o === u) continue;
        const ov = o.instance?.channels.get(id);
        const expected = ov?.channel.joined && truth.includes(o.uid) ? ov.channel.awareness.getLocalState()?.n ?? null : void 0;
        const actual = states.has(o.uid) ? states.get(o.uid) : void 0;
        if (expected !== actual) out.push(`${u.uid} sees ${o.uid}'s awareness in ${id} as ${JSON.stringify(actual)}, it is ${JSON.stringify(expected)}`);
      }
    }
  }
  for (const u of w.users) {
    for (const id of w.channels) {
      const inst = u.instance;
      if (isMember(id, u.uid) && !inst?.channels.get(id)?.channel.joined) out.push(`the node counts ${u.uid} in ${id}; its client is not in it`);
    }
  }
  return out;
}
async function checkDocuments(w) {
  const out = [];
  const node = w.node;
  const canonical = (entries) => JSON.stringify(entries.map(([k, a]) => [k, a.value, a.lastUpdateUserId, a.lastUpdateTs]).sort(([x], [y]) => x < y ? -1 : 1));
  for (const id of w.channels) {
    const entries = await node.channels.docs.read(APP, id, []);
    const truth = canonical(entries.map(({ key, ...a }) => [key, a]));
    const bytes = await node.channels.docs.stateBytes(APP, id);
    const live = entries.reduce((n, e) => n + e.key.length + e.value.length + e.lastUpdateUserId.length + 48, 0);
    if (bytes > 2 * live + w.opts.compactSlackBytes + 1024) out.push(`${id}: the node's document is ${bytes} bytes for ${live} bytes of attributes`);
    for (const u of w.users) {
      const ch = u.instance?.channels.get(id)?.channel;
      if (!ch?.joined) continue;
      const mine = canonical(Object.entries(ch.attributes()));
      if (mine !== truth) out.push(`${u.uid}'s attributes of ${id} differ from the node's:
  ${mine}
  ${truth}`);
    }
  }
  return out;
}
function checkInvitations(w) {
  const out = [];
  for (const u of w.users) {
    const inst = u.instance;
    if (!inst) continue;
    for (const inv of inst.outgoing) if (inv.state === "SENT_TO_REMOTE" || inv.state === "RECEIVED_BY_REMOTE") out.push(`${u.uid}'s invitation ${inv.id} to ${inv.calleeId} stuck ${inv.state}`);
    for (const inv of inst.incoming) if (inv.state === "INVITATION_RECEIVED" || inv.state === "ACCEPT_SENT_TO_LOCAL") out.push(`${u.uid}'s invitation from ${inv.callerId} stuck ${inv.state}`);
    for (const inv of inst.outgoing) {
      const callee = w.users.find((x) => x.uid === inv.calleeId)?.instance;
      const other = callee?.incoming.find((r) => r.id === inv.id && r.callerId === u.uid);
      if (!other) continue;
      if (inv.state === "ACCEPTED_BY_REMOTE" && other.state === "REFUSED") out.push(`invitation ${inv.id}: caller accepted, callee refused`);
      if (inv.state === "REFUSED_BY_REMOTE" && other.state === "ACCEPTED") out.push(`invitation ${inv.id}: caller refused, callee accepted`);
    }
  }
  return out;
}
function checkPresence(w) {
  const out = [];
  for (const u of w.users) {
    const inst = u.instance;
    if (!inst || inst.client.connectionState !== "CONNECTED") continue;
    for (const o of w.users) {
      if (o === u) continue;
      const truth = w.engine.presenceNow(APP, [o.uid])[0];
      const seen = inst.presence.get(o.uid);
      if (seen !== truth) out.push(`${u.uid} sees ${o.uid} ${seen}, the node says ${truth}`);
    }
  }
  return out;
}
var MEDIA_FAILURES = /* @__PURE__ */ new Set(["MEDIA_UNAVAILABLE", "CANCELLED", "DESTROYED"]);
function checkMedia(w) {
  const out = [];
  const ended = new Set(w.log.ends.map((e) => `${e.uid}#${e.instance}`));
  for (const d of w.log.downloads) {
    const where = `${d.id} downloaded by ${d.to}#${d.instance}`;
    if (d.outcome === void 0) {
      if (!ended.has(`${d.to}#${d.instance}`)) out.push(`${where}: never settled`);
    } else if (d.outcome !== "ok" && !MEDIA_FAILURES.has(d.outcome)) out.push(`${where}: ${d.outcome}`);
  }
  return out;
}

// test/sim/world.ts
import pino from "pino";
import { ErrorCode, FrameType, PeerFrameType, PlazaError as PlazaError2, decodeFrame, decodePeerFrame } from "@plaza/protocol";
import { LocalEngine, RendezvousNode } from "@plaza/rendezvous";

// test/sim/prng.ts
var Prng = class _Prng {
  a;
  b;
  c;
  d;
  constructor(seed) {
    this.a = 2654435769;
    this.b = 608135816;
    this.c = 3084996962;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.next();
  }
  /** Uniform in [0, 1). */
  next() {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    let t = this.a + this.b | 0;
    this.a = this.b ^ this.b >>> 9;
    this.b = this.c + (this.c << 3) | 0;
    this.c = this.c << 21 | this.c >>> 11;
    this.d = this.d + 1 | 0;
    t = t + this.d | 0;
    this.c = this.c + t | 0;
    return (t >>> 0) / 4294967296;
  }
  /** An integer in [min, max]. */
  int(min, max) {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p) {
    return this.next() < p;
  }
  pick(list) {
    return list[Math.floor(this.next() * list.length)];
  }
  /** An independent generator derived from this one (so that adding a consumer does not shift the others). */
  fork() {
    return new _Prng(Math.floor(this.next() * 2 ** 32));
  }
  /** 12 characters of base64url, like the client's random ids. */
  id() {
    const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let s = "";
    for (let i = 0; i < 12; i++) s += chars[Math.floor(this.next() * 64)];
    return s;
  }
};

// test/sim/network.ts
var Pipe = class {
  constructor(net, latency) {
    this.net = net;
    this.latency = latency;
  }
  net;
  latency;
  last = 0;
  send(domain, fn, jitter = false) {
    const s = this.net.sched;
    const delay = this.net.prng.int(this.latency[0], this.latency[1]);
    const at = jitter ? s.now + delay : Math.max(s.now + delay, this.last);
    this.last = at;
    s.at(domain, at - s.now, fn);
  }
};
var CONNECTING = 0;
var OPEN = 1;
var CLOSED = 3;
var WsPair = class {
  constructor(net, user, client) {
    this.net = net;
    this.user = user;
    this.client = client;
    this.toNode = new Pipe(net, net.opts.wsLatency);
    this.toClient = new Pipe(net, net.opts.wsLatency);
    const pair = this;
    this.server = {
      get open() {
        return pair.serverOpen;
      },
      bufferedAmount: 0,
      remoteAddress: `sim:${user.uid}`,
      send: (frame) => {
        if (!pair.serverOpen || pair.cut) return;
        const copy = Uint8Array.from(frame);
        pair.toClient.send(user.domain, () => {
          if (pair.client.readyState !== OPEN) return;
          net.frameHook?.(user.uid, copy, false);
          pair.client.onmessage?.({ data: copy });
        });
      },
      close: (code, reason) => pair.serverClose(code, reason),
      terminate: () => pair.serverClose(1006, "")
    };
  }
  net;
  user;
  toNode;
  toClient;
  handler = null;
  nodeDomain = null;
  /** Bytes no longer flow (a cut or a black hole): nothing sent is delivered. */
  cut = false;
  serverOpen = false;
  client;
  server;
  /** The node closes: the client hears it (unless the wire is cut), the node's own close event follows. */
  serverClose(code, reason) {
    if (!this.serverOpen) return;
    this.serverOpen = false;
    if (this.nodeDomain) this.net.sched.at(this.nodeDomain, 1, () => this.handler?.onClose());
    if (!this.cut) this.toClient.send(this.user.domain, () => this.client.closed(code, reason));
  }
  /** The client closes (or its page is gone): the node hears it unless the wire is cut. */
  clientClose() {
    if (this.cut || !this.serverOpen || !this.nodeDomain) return;
    this.toNode.send(this.nodeDomain, () => {
      if (!this.serverOpen) return;
      this.serverOpen = false;
      this.handler?.onClose();
    });
  }
  /** The wire breaks: `notify` tells each side at once (a reset), else nobody hears (a black hole). */
  breakWire(notify) {
    if (this.cut) return;
    this.cut = true;
    if (!notify) return;
    if (this.serverOpen && this.nodeDomain) {
      this.serverOpen = false;
      this.net.sched.at(this.nodeDomain, this.net.prng.int(1, 20), () => this.handler?.onClose());
    }
    this.net.sched.at(this.user.domain, this.net.prng.int(1, 20), () => this.client.closed(1006, "reset"));
  }
};
var SimWebSocket = class {
  constructor(net, user) {
    this.user = user;
    this.pair = new WsPair(net, user, this);
    user.sockets.add(this.pair);
    const node = net.node();
    if (user.blocked === "blackhole") {
      this.pair.cut = true;
      return;
    }
    if (!node || user.blocked === "reset") {
      net.sched.at(user.domain, net.prng.int(1, 10), () => this.closed(1006, "refused"));
      return;
    }
    this.pair.toNode.send(node.domain, () => {
      if (this.pair.cut || net.node() !== node) return;
      this.pair.nodeDomain = node.domain;
      this.pair.serverOpen = true;
      this.pair.handler = node.accept(this.pair.server);
      this.pair.toClient.send(user.domain, () => {
        if (this.readyState !== CONNECTING) return;
        this.readyState = OPEN;
        this.onopen?.({});
      });
    });
  }
  user;
  binaryType = "arraybuffer";
  readyState = CONNECTING;
  onopen = null;
  onclose = null;
  onerror = null;
  onmessage = null;
  pair;
  send(data) {
    if (this.readyState !== OPEN || this.pair.cut || !this.pair.nodeDomain) return;
    const copy = Uint8Array.from(data);
    const pair = this.pair;
    pair.toNode.send(pair.nodeDomain, () => {
      if (!pair.serverOpen || pair.cut) return;
      pair.net.frameHook?.(this.user.uid, copy, true);
      pair.handler?.onMessage(copy, true);
    });
  }
  close() {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.pair.clientClose();
    this.user.sockets.delete(this.pair);
  }
  /** The connection ended from the other side or the network. */
  closed(code, reason) {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.user.sockets.delete(this.pair);
    this.onclose?.({ code, reason });
  }
};
var SimLink = class {
  constructor(net, user, initiator) {
    this.net = net;
    this.user = user;
    this.id = net.prng.id();
    net.links.set(this.id, this);
    user.links.add(this);
    this.out = new Pipe(net, net.opts.linkLatency);
    if (initiator) this.later(() => this.emit("signal", { type: "offer", sdp: this.id }));
  }
  net;
  user;
  id;
  peer = null;
  connected = false;
  destroyed = false;
  bufferSize = 0;
  handlers = {};
  out;
  on(event, fn) {
    ;
    (this.handlers[event] ??= []).push(fn);
    return this;
  }
  signal(data) {
    const d = data;
    if (this.destroyed || typeof d.sdp !== "string") return;
    const other = this.net.links.get(d.sdp);
    if (!other || other.destroyed || !other.user.alive()) return;
    if (d.type === "offer") {
      this.peer = other;
      this.later(() => this.emit("signal", { type: "answer", sdp: this.id }));
    } else if (d.type === "answer" && other.peer === this) {
      this.peer = other;
      if (!this.net.linkAllowed(this.user.uid, other.user.uid)) return;
      const rtt = 2 * this.net.prng.int(this.net.opts.linkLatency[0], this.net.opts.linkLatency[1]);
      for (const end of [this, other]) end.net.sched.at(end.user.domain, rtt, () => end.open());
    }
  }
  open() {
    if (this.destroyed || this.connected || !this.peer || this.peer.destroyed) return;
    this.connected = true;
    this.emit("connect");
  }
  send(bytes) {
    const peer = this.peer;
    if (!this.connected || !peer || this.destroyed || this.user.cutLinks) return;
    const copy = Uint8Array.from(bytes);
    const prng = this.net.prng;
    const lossy = this.net.opts.lossyLinks;
    if (lossy && prng.chance(0.03)) return;
    const times = lossy && prng.chance(0.02) ? 2 : 1;
    for (let i = 0; i < times; i++) {
      this.out.send(
        peer.user.domain,
        () => {
          if (peer.connected && !peer.destroyed && !this.destroyed && !peer.user.cutLinks) peer.emit("data", copy);
        },
        lossy && prng.chance(0.05)
      );
    }
  }
  destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    this.connected = false;
    this.net.links.delete(this.id);
    this.user.links.delete(this);
    const peer = this.peer;
    if (peer && !peer.destroyed) this.net.sched.at(peer.user.domain, this.net.prng.int(1, 30), () => peer.remoteGone());
  }
  /** The other end closed its data channel. */
  remoteGone() {
    if (this.destroyed) return;
    this.emit("close");
  }
  /** The path broke (ICE disconnected): data stops; it may come back. */
  iceState(state) {
    if (!this.destroyed && this.connected) this.emit("iceStateChange", state);
  }
  later(fn) {
    this.net.sched.at(this.user.domain, 1, () => {
      if (!this.destroyed) fn();
    });
  }
  emit(event, ...args) {
    for (const fn of [...this.handlers[event] ?? []]) fn(...args);
  }
};
var SimUserNet = class {
  constructor(net, uid, domain) {
    this.net = net;
    this.uid = uid;
    this.domain = domain;
  }
  net;
  uid;
  domain;
  sockets = /* @__PURE__ */ new Set();
  links = /* @__PURE__ */ new Set();
  /** New WebSockets hang (black hole) or are refused (reset). */
  blocked = null;
  /** Direct links carry nothing for now (ICE disconnected). */
  cutLinks = false;
  alive() {
    return !this.domain.dead;
  }
  WebSocket() {
    const user = this;
    return class {
      constructor() {
        return new SimWebSocket(user.net, user);
      }
    };
  }
  createLink() {
    return (opts) => new SimLink(this.net, this, opts.initiator);
  }
  /** The WebSocket breaks: `reset` both ends hear it; `blackhole` nobody does (liveness must notice). */
  breakSockets(mode) {
    this.blocked = mode;
    for (const pair of [...this.sockets]) pair.breakWire(mode === "reset");
  }
  healSockets() {
    this.blocked = null;
  }
  /** The page's links lose their path: both ends see ICE disconnected. */
  breakLinks() {
    this.cutLinks = true;
    for (const l of this.links) {
      l.iceState("disconnected");
      const peer = l.peer;
      if (peer && peer.user.alive()) this.net.sched.at(peer.user.domain, 5, () => peer.iceState("disconnected"));
    }
  }
  healLinks() {
    this.cutLinks = false;
    for (const l of this.links) {
      l.iceState("connected");
      const peer = l.peer;
      if (peer && peer.user.alive()) this.net.sched.at(peer.user.domain, 5, () => peer.iceState("connected"));
    }
  }
  /** The page is gone (crash or reload): the node may hear its sockets close; its peers' links go quiet. */
  gone(nodeHears) {
    for (const pair of [...this.sockets]) {
      if (nodeHears) pair.client.close();
      else pair.breakWire(false);
    }
    for (const l of [...this.links]) {
      const peer = l.peer;
      l.destroyed = true;
      this.net.links.delete(l.id);
      if (peer && peer.user.alive()) this.net.sched.at(peer.user.domain, 10, () => peer.iceState("disconnected"));
    }
    this.links.clear();
  }
};
var SimNetwork = class {
  constructor(sched, prng, opts) {
    this.sched = sched;
    this.prng = prng;
    this.opts = opts;
  }
  sched;
  prng;
  opts;
  links = /* @__PURE__ */ new Map();
  /** Sees every frame a client receives from the node (debugging). */
  frameHook = null;
  current = null;
  /** Pairs of users whose direct links never connect (as if ICE found no path). */
  noPath = /* @__PURE__ */ new Set();
  users = /* @__PURE__ */ new Set();
  node() {
    return this.current && !this.current.domain.dead ? this.current : null;
  }
  setNode(node) {
    this.current = node;
  }
  user(uid, domain) {
    const u = new SimUserNet(this, uid, domain);
    this.users.add(u);
    return u;
  }
  linkAllowed(a, b) {
    return !this.noPath.has(a < b ? `${a} ${b}` : `${b} ${a}`);
  }
  /** The node process died: every client's socket to it resets. */
  nodeCrashed() {
    for (const u of this.users) {
      for (const pair of [...u.sockets]) {
        if (pair.cut) continue;
        pair.cut = true;
        pair.serverOpen = false;
        if (u.alive()) this.sched.at(u.domain, this.prng.int(1, 20), () => pair.client.closed(1006, "node gone"));
      }
    }
  }
};

// test/sim/log.ts
var SimLog = class {
  constructor(now, traceLimit = 4e3) {
    this.now = now;
    this.limit = traceLimit;
  }
  now;
  peerSends = /* @__PURE__ */ new Map();
  deliveries = [];
  channelSends = /* @__PURE__ */ new Map();
  /** receiver -> sender -> how many stored messages the node said it dropped. */
  dropped = /* @__PURE__ */ new Map();
  ends = [];
  /** Media id -> SHA-256 (hex) of the file its sender made. */
  mediaFiles = /* @__PURE__ */ new Map();
  downloads = [];
  /** A line per notable event, printed when a seed fails. */
  trace = [];
  limit;
  note(line) {
    this.trace.push(`${((this.now() - 17e11) / 1e3).toFixed(3)} ${line}`);
    if (this.trace.length > this.limit) this.trace.shift();
  }
  dropNotice(to2, from2, count) {
    let m = this.dropped.get(to2);
    if (!m) this.dropped.set(to2, m = /* @__PURE__ */ new Map());
    m.set(from2, (m.get(from2) ?? 0) + count);
  }
};

// test/sim/world.ts
function optionsFor(seed) {
  const p = new Prng(seed ^ 24301);
  return {
    seed,
    users: p.int(3, 5),
    channels: p.chance(0.5) ? ["room"] : ["room", "hall"],
    activeMs: p.int(2e4, 6e4),
    settleMs: 13e4,
    faults: true,
    lossyLinks: p.chance(0.3),
    detachedQueueFrames: p.pick([16, 64, 4096]),
    offlinePerReceiver: p.pick([3, 10, 200]),
    // Negative: nearly every write starts a new generation (stresses the switch between them).
    compactSlackBytes: p.pick([-400, 0, 512, 4096])
  };
}
var World = class {
  constructor(opts) {
    this.opts = opts;
    this.prng = new Prng(opts.seed);
    this.log = new SimLog(() => this.sched.now);
    this.channels = opts.channels;
    this.net = new SimNetwork(this.sched, this.prng.fork(), { wsLatency: [1, 30], linkLatency: [1, 15], lossyLinks: opts.lossyLinks });
    for (let i = 0; i < opts.users; i++) this.users.push(new SimUser(`u${i}`, this, this.prng.fork()));
    if (process.env.SIM_FRAMES) {
      const who = new RegExp(process.env.SIM_FRAMES);
      this.net.frameHook = (uid, bytes, toNode) => {
        if (who.test(uid)) this.log.note(`${uid} ${toNode ? "->" : "<-"} ${describeFrame(bytes)}`);
      };
    }
    for (let i = 0; i < opts.users; i++) for (let j = i + 1; j < opts.users; j++) if (this.prng.chance(0.2)) this.net.noPath.add(`u${i} u${j}`);
  }
  opts;
  sched = new Scheduler();
  prng;
  net;
  disk = new SimDisk();
  log;
  users = [];
  channels;
  active = true;
  node = null;
  /** The node's engine, for the checker to read between steps. */
  engine = null;
  /** Compactions counted by node processes that crashed since. */
  compactions = 0;
  nodeDomain = null;
  nodes = 0;
  /** Never dies: the faults and the test's own steps run here. */
  god = new Domain("world");
  /** Starts a node process on the disk (after a crash: a new one over what the disk kept). */
  async startNode() {
    const domain = new Domain(`node#${++this.nodes}`);
    const rng = this.prng.fork();
    const runtime = {
      clock: this.sched.clock(domain),
      random: () => rng.next(),
      sessionId: () => rng.id() + rng.id(),
      verifyToken: async (token, _secret, expect) => {
        if (token !== tokenOf(expect.uid)) throw new PlazaError2(ErrorCode.INVALID_TOKEN, "bad token");
        return { expiresAt: this.sched.now + 10 * 864e5, grants: {} };
      }
    };
    const db = this.disk.forProcess(this.sched, domain, rng);
    const config = {
      apps: { [APP]: "secret" },
      logLevel: "silent",
      // Direct links wherever the client wants one: the paths the delivery logic must get right.
      linkPolicy: "always",
      processMetrics: false,
      detachedQueueFrames: this.opts.detachedQueueFrames,
      offlinePerReceiver: this.opts.offlinePerReceiver,
      docCompactSlackBytes: this.opts.compactSlackBytes
    };
    const engine = new LocalEngine(db, { perReceiver: this.opts.offlinePerReceiver, retentionMs: 7 * 864e5 }, () => this.sched.now);
    const node = new RendezvousNode(config, { runtime, logger: pino({ level: process.env.SIM_LOG ?? "silent" }), engine });
    this.node = node;
    this.engine = engine;
    this.nodeDomain = domain;
    await node.start();
    this.net.setNode({ domain, accept: (c) => node.accept(c) });
    this.log.note(`node#${this.nodes} up`);
  }
  /** kill -9 of the node: memory gone, the disk keeps what was written. */
  crashNode() {
    if (!this.nodeDomain) return;
    this.log.note(`node#${this.nodes} crashes`);
    void this.node?.metrics.docCompactions.get().then((m) => this.compactions += m.values[0]?.value ?? 0);
    this.nodeDomain.kill();
    this.nodeDomain = null;
    this.node = null;
    this.engine = null;
    this.net.setNode(null);
    this.net.nodeCrashed();
  }
  /** Runs the whole scenario: active with faults, then healed and settled. */
  async run() {
    await this.startNode();
    for (const u of this.users) u.start();
    if (this.opts.faults) this.scheduleFault();
    await this.sched.runUntil(this.sched.now + this.opts.activeMs);
    this.active = false;
    await this.heal();
    await this.sched.runUntil(this.sched.now + this.opts.settleMs);
  }
  /** Everything comes back: the node, every page, every network; nobody stays logged out. */
  async heal() {
    this.log.note("heal");
    if (!this.node) await this.startNode();
    for (const u of this.users) {
      if (!u.instance) u.start();
      const inst = u.instance;
      inst.net.healSockets();
      inst.net.healLinks();
      if (inst.loggedOut) void u.login(inst);
    }
  }
  scheduleFault() {
    this.sched.at(this.god, this.prng.int(1e3, 8e3), () => {
      if (!this.active) return;
      void this.fault();
      this.scheduleFault();
    });
  }
  async fault() {
    const rng = this.prng;
    const later = (ms, fn) => this.sched.at(this.god, ms, fn);
    const user = rng.pick(this.users);
    const r = rng.next();
    if (r < 0.15) {
      if (!this.node) return;
      this.crashNode();
      later(rng.int(200, 5e3), () => void (this.node ? void 0 : this.startNode()));
    } else if (r < 0.35) {
      const crash = rng.chance(0.5);
      await user.stop(crash, rng.chance(0.5));
      later(rng.chance(0.3) ? rng.int(5e3, 3e4) : rng.int(100, 4e3), () => {
        if (!user.instance) user.start();
      });
    } else if (r < 0.45) {
      void user.logout();
      later(rng.int(100, 5e3), () => {
        const inst = user.instance;
        if (inst?.loggedOut) void user.login(inst);
      });
    } else if (r < 0.7) {
      const inst = user.instance;
      if (!inst) return;
      const mode = rng.chance(0.5) ? "reset" : "blackhole";
      this.log.note(`${user.uid}#${inst.n} network ${mode}`);
      inst.net.breakSockets(mode);
      later(rng.int(500, mode === "reset" ? 8e3 : 4e4), () => {
        inst.net.healSockets();
        this.log.note(`${user.uid}#${inst.n} network back`);
      });
    } else if (r < 0.85) {
      const inst = user.instance;
      if (!inst) return;
      this.log.note(`${user.uid}#${inst.n} links break`);
      inst.net.breakLinks();
      later(rng.int(500, 1e4), () => inst.net.healLinks());
    } else {
      const inst = user.instance;
      const joined = inst ? [...inst.channels.values()].filter((v) => v.channel.joined) : [];
      if (!joined.length) return;
      const ch = rng.pick(joined).channel;
      this.log.note(`${user.uid}#${inst.n} floods ${ch.channelId}`);
      for (let i = 0; i < 100; i++) ch.awareness.setLocalStateField("n", rng.int(0, 1e6));
    }
  }
};
function describeFrame(bytes) {
  const f = decodeFrame(bytes);
  const peer = (p) => {
    try {
      const x = decodePeerFrame(p);
      if (x.type === PeerFrameType.MESSAGE) return `MSG ${x.stream} seq ${x.seq} floor ${x.floor} ${x.text}`;
      if (x.type === PeerFrameType.ACK) return `ACK ${x.stream} upTo ${x.upTo} missing ${JSON.stringify(x.missing)} known ${x.known}`;
      return `SYNC ${x.channel}`;
    } catch {
      return "bad peer frame";
    }
  };
  if (f.type === FrameType.RELAY_FROM) return `RELAY_FROM ${f.from}: ${peer(f.payload)}`;
  if (f.type === FrameType.RELAY_TO) return `RELAY_TO ${f.to}: ${peer(f.payload)}`;
  if (f.type === FrameType.RESULT) return `RESULT ${f.reqId} ${f.code}`;
  if (f.type === FrameType.CHANNEL_SYNC_TO_NODE || f.type === FrameType.CHANNEL_SYNC_FROM_NODE) return `${FrameType[f.type]} ${f.channel} ${f.kind === 2 ? "doc" : "awareness"} epoch ${f.epoch} type ${f.payload[0]} ${"reqId" in f ? `req ${f.reqId}` : ""}`;
  if (f.type === FrameType.OFFLINE_MESSAGES) return `OFFLINE ${f.messages.map((m) => `[${m.id} ${m.from}: ${peer(m.payload)}]`).join(" ")} dropped ${JSON.stringify(f.dropped)}`;
  return FrameType[f.type];
}

// test/sim/run.ts
async function runSeed(seed, overrides = {}) {
  const world = new World({ ...optionsFor(seed), ...overrides });
  const t02 = world.sched.now;
  await world.run();
  const violations = await check(world);
  const counter = async (name) => (await world.node.metrics.registry.getSingleMetric(name)?.get())?.values[0]?.value ?? 0;
  return {
    seed,
    violations,
    events: world.sched.events,
    stats: {
      peerSends: world.log.peerSends.size,
      downloads: world.log.downloads.length,
      downloadsOk: world.log.downloads.filter((d) => d.outcome === "ok").length,
      deliveries: world.log.deliveries.length,
      channelSends: world.log.channelSends.size,
      virtualMs: world.sched.now - t02,
      dropNotices: [...world.log.dropped.values()].reduce((n, m) => n + [...m.values()].reduce((a, b) => a + b, 0), 0),
      compactions: world.compactions + await counter("plaza_channel_document_compactions_total")
    },
    trace: world.log.trace
  };
}

// test/sim/tools/soak-range.ts
var from = Number(process.env.SIM_FROM ?? 1);
var to = Number(process.env.SIM_TO ?? 1e3);
var t0 = Date.now();
var totals = { peerSends: 0, deliveries: 0, channelSends: 0, dropNotices: 0, compactions: 0, downloads: 0, downloadsOk: 0, events: 0 };
var failed = 0;
for (let seed = from; seed <= to; seed++) {
  const r = await runSeed(seed);
  totals.events += r.events;
  for (const k of ["peerSends", "deliveries", "channelSends", "dropNotices", "compactions", "downloads", "downloadsOk"]) totals[k] += r.stats[k];
  if (r.violations.length) {
    failed++;
    process.stdout.write(`FAIL seed ${seed}: ${r.violations.slice(0, 5).join(" | ")}
`);
  }
  if ((seed - from) % 1e3 === 999) process.stdout.write(`progress ${seed - from + 1} seeds, ${failed} failed, ${Math.round((Date.now() - t0) / 1e3)} s
`);
}
process.stdout.write(`SUMMARY ${from}-${to}: ${to - from + 1} seeds, ${failed} failed, ${Math.round((Date.now() - t0) / 1e3)} s, ${JSON.stringify(totals)}
`);
