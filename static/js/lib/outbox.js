// The outbox: every record written on the phone waits here, sealed, until the server has
// committed it (DESIGN.md "Offline and sync: the guarantees"). Sending is lib/sender.js's,
// sealing a new record lib/enqueue.js's: a page with nothing to send or save, and the service
// worker (which never saves), do not download them.
import { db, getMeta, setMeta, dropDatabase } from "./store.js";

export const DUE_STATES = new Set(["pending", "sending", "waiting_login"]);
// A person's or the network's explicit signal: send what waits now, whatever the back-off says.
export const IMMEDIATE = new Set(["button", "online", "background-sync", "logout-refused", "resend"]);

/** Tells this page and every other (and the service worker) that the outbox changed. */
export const events = new EventTarget();
const channel = "BroadcastChannel" in self ? new BroadcastChannel("interrupters-outbox") : null;
channel?.addEventListener("message", (event) => events.dispatchEvent(new CustomEvent("change", { detail: event.data })));

/** @param {object} detail */
export function announce(detail) {
  events.dispatchEvent(new CustomEvent("change", { detail }));
  channel?.postMessage(detail);
}

export function newUuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const JSON_HEADERS = { Accept: "application/json" };

// One /sync/config a page: the answer (a CSRF token good for an hour, the key) serves every
// caller of this page, or of the service worker, for a minute; callers at the same time share
// one request. Only a 200 is kept; a refused record (400, 401, 403) forgets it.
const CONFIG_FRESH_MS = 60 * 1000;
/** @type {{at: number, answer: Promise<{status: number, body: any}>} | null} */
let config = null;

export function forgetConfig() {
  config = null;
}

/**
 * Fetch what a run needs (a fresh CSRF token, the server's key) and keep the key for
 * sealing records offline. Throws on a network error; returns the HTTP answer otherwise.
 * @returns {Promise<{status: number, body: any}>}
 */
export function fetchConfig() {
  // The monotonic clock: a phone's clock set right (an hour back, say) must not keep an
  // answer fresh for that hour.
  if (config && performance.now() - config.at < CONFIG_FRESH_MS) return config.answer;
  const mine = { at: performance.now(), answer: requestConfig() };
  config = mine;
  // A failure or an answer other than 200 is not kept: the next caller asks again.
  mine.answer.then((answer) => { if (answer.status !== 200 && config === mine) config = null; }, () => { if (config === mine) config = null; });
  return mine.answer;
}

async function requestConfig() {
  // redirect "error": a followed redirect to a login page must never look like success.
  const asked = Date.now();
  const response = await fetch("/sync/config", { credentials: "same-origin", redirect: "error", headers: JSON_HEADERS, cache: "no-store" });
  const body = await response.json().catch(() => null);
  if (response.ok && body?.public_key) await setMeta("public_key", body.public_key);
  // How far this phone's clock is from the server's (the answer's time taken mid-way): the
  // panel says so when it is far enough to fill the forms with wrong times (outbox-status.js).
  if (response.ok && Number.isFinite(body?.server_time)) await setMeta("clock_skew", Math.round((asked + Date.now()) / 2 - body.server_time));
  return { status: response.status, body };
}

/**
 * Keep the server's key on the phone while there is network, so that a record can be
 * sealed later without any (page load, service-worker start). A signed-in page carries the key
 * (base.html, data-public-key): then no request is made. Never throws.
 * @param {string} [pageKey] the key as the page gives it
 */
export async function ensureKey(pageKey) {
  try {
    const kept = await getMeta("public_key");
    if (pageKey) {
      if (kept !== pageKey) await setMeta("public_key", pageKey);
    } else if (!kept) await fetchConfig();
  } catch {
    // Offline or signed out: the next page load with network fetches it.
  }
}

/** @returns {Promise<import("./store.js").OutboxRecord[]>} oldest first */
export async function list() {
  return (await db()).getAllFromIndex("outbox", "created_at");
}

export async function count() {
  return (await db()).count("outbox");
}

export async function due(now, immediate = false) {
  return (await list()).filter(
    (r) => DUE_STATES.has(r.state) && (immediate || r.next_attempt_at <= now || r.state === "waiting_login"),
  );
}

/**
 * Send what is due, one sender at a time across tabs and the service worker (lib/sender.js).
 * The sender's code comes only when something is to be sent: a page whose outbox is empty
 * does not download it. Offline, without it in a cache, the records wait for the next trigger.
 * @param {string} reason what triggered the run (see lib/sender.js)
 * @returns {Promise<string>} how the run ended
 */
export async function sendNow(reason = "manual") {
  if (!IMMEDIATE.has(reason) && !(await due(Date.now())).length) return "empty";
  let sender;
  try {
    sender = await import("./sender.js");
  } catch {
    return "offline";
  }
  return sender.sendNow(reason);
}

/** When the next record is due, for a page's timer (null when nothing waits to be retried). */
export async function nextAttemptAt() {
  const times = (await list()).filter((r) => r.state === "pending").map((r) => r.next_attempt_at);
  return times.length ? Math.min(...times) : null;
}

/** Ask the browser to send from the service worker when the network is back (Chromium). */
export async function requestBackgroundSync() {
  try {
    const registration = await navigator.serviceWorker?.getRegistration?.();
    await registration?.sync?.register("outbox");
  } catch {
    // No Background Sync (Firefox, Safari): the other triggers send.
  }
}

/**
 * A record the server answered 409 for (its UUID is known with other content): send it as
 * a new record. It stays sealed; the server opens it with the UUID it was sealed for.
 */
export async function resendAsNew(clientUuid) {
  const store = (await db()).transaction("outbox", "readwrite").store;
  const record = await store.get(clientUuid);
  if (!record) return;
  await store.delete(clientUuid);
  await store.put({
    ...record, client_uuid: newUuid(), sealed_uuid: record.sealed_uuid || record.client_uuid,
    state: "pending", attempts: 0, next_attempt_at: Date.now(),
  });
  announce({ type: "changed" });
}

/** Forget records the user chose to discard; the caller tells the server (it is audited). */
export async function discard(clientUuids) {
  const store = (await db()).transaction("outbox", "readwrite").store;
  for (const id of clientUuids) {
    // A discarded one-time act may be done again (briefing-read.js).
    const once = (await store.get(id))?.summary?.once;
    if (once) localStorage.removeItem(`outbox-once:${once}`);
    await store.delete(id);
  }
  announce({ type: "changed" });
}

/** Remove everything the app keeps on this phone (logout, revocation). */
export async function wipe() {
  // The service worker first: left registered (a browser that ignores Clear-Site-Data), it
  // would fill the caches again with the next page's files, and keep sending and syncing.
  try {
    if (self.registration?.unregister) await self.registration.unregister(); // in the worker
    else for (const registration of (await navigator.serviceWorker?.getRegistrations?.()) || []) await registration.unregister();
  } catch { /* no service worker here */ }
  forgetConfig();
  await dropDatabase();
  if ("caches" in self) {
    for (const key of await caches.keys()) await caches.delete(key);
  }
  if (typeof localStorage !== "undefined") {
    try { localStorage.clear(); sessionStorage.clear(); } catch { /* storage blocked */ }
  }
}
