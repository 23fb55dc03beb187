// The outbox: every record written on the phone waits here, sealed, until the server has
// committed it (DESIGN.md "Offline and sync: the guarantees"). One sender at a time, on every
// trigger (page load, online, Background Sync, service-worker start, "send now"); back-off
// capped at five minutes; an entry leaves only after a definitive answer.
// Sealing a new record is lib/enqueue.js's: a page without a form to save, and the service
// worker, never download the encryption.
import { db, getMeta, setMeta, dropDatabase } from "./store.js";

const LOCK = "interrupters-outbox-sender";
const MAX_BACKOFF_MS = 5 * 60 * 1000;
// Records a request at most; the server's /sync/config says how many it takes ("max_batch";
// a server without it takes one). On slow 4G a request costs a 150 ms round trip before its
// bytes: one request a record spent 150 s on round trips alone for 1,000 records.
const MAX_BATCH = 200;
const MAX_PARALLEL = 4;
const DUE_STATES = new Set(["pending", "sending", "waiting_login"]);
// A person's or the network's explicit signal: send what waits now, whatever the back-off says.
const IMMEDIATE = new Set(["button", "online", "background-sync", "logout-refused", "resend"]);

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
  if (config && Date.now() - config.at < CONFIG_FRESH_MS) return config.answer;
  const mine = { at: Date.now(), answer: requestConfig() };
  config = mine;
  // A failure or an answer other than 200 is not kept: the next caller asks again.
  mine.answer.then((answer) => { if (answer.status !== 200 && config === mine) config = null; }, () => { if (config === mine) config = null; });
  return mine.answer;
}

async function requestConfig() {
  // redirect "error": a followed redirect to a login page must never look like success.
  const response = await fetch("/sync/config", { credentials: "same-origin", redirect: "error", headers: JSON_HEADERS, cache: "no-store" });
  const body = await response.json().catch(() => null);
  if (response.ok && body?.public_key) await setMeta("public_key", body.public_key);
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

async function update(clientUuid, changes) {
  const store = (await db()).transaction("outbox", "readwrite").store;
  const record = await store.get(clientUuid);
  if (record) await store.put({ ...record, ...changes });
}

/** The changes that put a record back in line, later each time it fails. */
function backOff(record) {
  const attempts = record.attempts + 1;
  const ceiling = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempts);
  // Jitter: two hundred phones coming out of the metro must not all retry at once.
  const delay = ceiling / 2 + Math.random() * (ceiling / 2);
  return { state: "pending", attempts, next_attempt_at: Date.now() + delay };
}

async function markAll(state) {
  for (const record of await list()) {
    if (DUE_STATES.has(record.state)) await update(record.client_uuid, { state, next_attempt_at: Date.now() });
  }
}

async function due(now, immediate = false) {
  return (await list()).filter(
    (r) => DUE_STATES.has(r.state) && (immediate || r.next_attempt_at <= now || r.state === "waiting_login"),
  );
}

/** No network or no server: every record of this run waits its back-off (no busy loop). */
async function postpone(records) {
  await settle(records.map((record) => [record, "retry"]));
  announce({ type: "changed" });
}

/**
 * Send what is due, one sender at a time across tabs and the service worker.
 * @param {string} reason what triggered the run; "send now", coming back online and
 *   Background Sync send every waiting record at once, the others only what is due
 * @returns {Promise<string>} how the run ended: "empty", "busy", "offline", "unavailable",
 *   "login", "revoked", "stopped" or "done:<reason>"
 */
export async function sendNow(reason = "manual") {
  if (!("locks" in navigator)) return run(reason);
  // An explicit signal waits for a run in progress, then sends everything: given up as
  // "busy", it was lost behind a timer's run that sent only what was due, and the rest waited
  // out its back-off (up to five minutes) after the network came back.
  if (IMMEDIATE.has(reason)) return navigator.locks.request(LOCK, () => run(reason));
  return navigator.locks.request(LOCK, { ifAvailable: true }, (lock) => (lock ? run(reason) : "busy"));
}

async function run(reason) {
  let records = await due(Date.now(), IMMEDIATE.has(reason));
  if (!records.length) return "empty";
  let settings;
  try {
    settings = await fetchConfig();
  } catch {
    await postpone(records);
    return "offline";
  }
  if (settings.status === 401 && settings.body?.status === "revoked") return revoked();
  if (settings.status === 401 || settings.status === 403) {
    await markAll("waiting_login");
    announce({ type: "changed", login: true });
    return "login";
  }
  if (settings.status !== 200 || !settings.body?.csrf_token) {
    await postpone(records);
    return "unavailable";
  }
  const token = settings.body.csrf_token;
  const size = Math.max(1, Math.min(MAX_BATCH, Math.floor(Number(settings.body.max_batch)) || 1));
  // With a backlog, two requests in flight (as many as the server announces): one uploads while
  // the server stores the other, which hides most of Slow 4G's round trips.
  const lanes = Math.max(1, Math.min(MAX_PARALLEL, Math.floor(Number(settings.body.parallel)) || 1));
  let sent = 0;
  let held = 0;
  let end = "next";
  // New records may arrive while this run sends: look again until nothing is due.
  while (records.length && end === "next") {
    const chunks = [];
    for (let start = 0; start < records.length; start += size) chunks.push(records.slice(start, start + size));
    const lane = async () => {
      while (chunks.length && end === "next") {
        const outcome = await send(chunks.shift(), token, size > 1);
        sent += outcome.sent;
        held += outcome.held;
        if (outcome.end !== "next" && end !== "revoked") end = outcome.end;
      }
    };
    await Promise.all(Array.from({ length: Math.min(lanes, chunks.length) }, lane));
    if (end === "next") records = await due(Date.now());
  }
  if (end === "revoked") return revoked();
  if (end === "stop") return finish(sent, held, "stopped");
  return finish(sent, held, `done:${reason}`);
}

async function finish(sent, held, ending) {
  if (held) await setMeta("held", ((await getMeta("held")) || 0) + held);
  announce({ type: "changed", sent, held });
  return ending;
}

async function revoked() {
  // The device was signed out from elsewhere (a lost phone) or the account closed.
  await wipe();
  announce({ type: "wiped" });
  return "revoked";
}

/**
 * What the server's answer means for one record (DESIGN.md, guarantee 3): "sent" and "held"
 * leave the phone; "conflict" and "unreadable" stay, marked; "retry" waits for its back-off.
 * @returns {"sent"|"held"|"conflict"|"unreadable"|"revoked"|"login"|"retry"}
 */
function decide(status, body) {
  if ((status === 200 || status === 201) && (body?.status === "stored" || body?.status === "replayed")) return "sent";
  // The server keeps it for its author to correct: the phone need not.
  if (status === 200 && body?.status === "needs_correction") return "held";
  if (status === 409) return "conflict";
  // The sender's role may not make this kind (it was never offered to them): kept and shown.
  if (status === 403 && body?.status === "forbidden") return "unreadable";
  if ((status === 422 && body?.status === "unreadable") || (status === 400 && body?.status === "malformed")) return "unreadable";
  if (status === 401 && body?.status === "revoked") return "revoked";
  if (status === 401 || status === 403) return "login";
  // 408, 429, 5xx, a stale CSRF token (400), anything unknown: keep and try again later.
  return "retry";
}

/** Mark records in one transaction, as they are now (one may have been discarded meanwhile). */
async function settle(decisions) {
  const tx = (await db()).transaction("outbox", "readwrite");
  // All requests at once, in one transaction: awaited one by one, a batch's 50 reads and 50
  // writes cost a turn of the event loop each.
  const found = await Promise.all(decisions.map(([record]) => tx.store.get(record.client_uuid)));
  const writes = decisions.map(([record, decision], i) => {
    const current = found[i];
    if (!current) return null;
    if (decision === "sent" || decision === "held") return tx.store.delete(record.client_uuid);
    if (decision === "conflict" || decision === "unreadable") return tx.store.put({ ...current, state: decision });
    if (decision === "retry") return tx.store.put({ ...current, ...backOff(current) });
    if (decision === "sending") return tx.store.put({ ...current, state: "sending" });
    return null;
  });
  await Promise.all([...writes, tx.done]);
}

/** The record as it travels; sealed_uuid only for a record resent under a new UUID. */
function wire(record) {
  const sealed = record.sealed_uuid && record.sealed_uuid !== record.client_uuid ? { sealed_uuid: record.sealed_uuid } : {};
  return { kind: record.kind, client_uuid: record.client_uuid, ...sealed, envelope: record.envelope };
}

/**
 * Send records in one request: alone as {kind, client_uuid, envelope}, or as a batch
 * {records: [...]} that the server answers record by record. Each record leaves the phone on
 * its own answer only; an answer for the request as a whole (no network, 401/403, 5xx, a stale
 * CSRF token) counts for every record in it.
 * @param {import("./store.js").OutboxRecord[]} records
 * @returns {Promise<{sent: number, held: number, end: "next"|"stop"|"revoked"}>}
 */
async function send(records, token, batched) {
  await settle(records.map((record) => [record, "sending"]));
  announce({ type: "changed" });
  let response;
  let body = null;
  try {
    const json = JSON.stringify(batched ? { records: records.map(wire) } : wire(records[0]));
    const gzip = typeof CompressionStream === "function";
    response = await fetch("/sync/records", {
      method: "POST",
      credentials: "same-origin",
      redirect: "error",
      headers: { ...JSON_HEADERS, "Content-Type": "application/json", "X-CSRFToken": token, ...(gzip ? { "Content-Encoding": "gzip" } : {}) },
      // Gzipped, a batch is a third smaller: most of a slow 4G sync is the upload.
      body: gzip ? await new Response(new Blob([json]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer() : json,
    });
    body = await response.json().catch(() => null);
  } catch {
    await settle(records.map((record) => [record, "retry"]));
    return { sent: 0, held: 0, end: "stop" };
  }
  // A stale token or a session gone: the next run asks for a new configuration.
  if ([400, 401, 403].includes(response.status)) forgetConfig();
  const results = batched && response.status === 200 && body?.status === "batch" && Array.isArray(body.results) ? body.results : null;
  /** @type {[import("./store.js").OutboxRecord, string][]} */
  let decisions;
  if (results) {
    // Each record by its own answer, in order; one without its own answer is sent again.
    decisions = records.map((record, i) => [
      record, results[i]?.client_uuid === record.client_uuid ? decide(Number(results[i].code), results[i]) : "retry",
    ]);
  } else {
    const whole = decide(response.status, body);
    // A batch's request refused as a whole says nothing about its records' content.
    const common = batched && !["revoked", "login"].includes(whole) ? "retry" : whole;
    decisions = records.map((record) => [record, common]);
  }
  if (decisions.some(([, decision]) => decision === "revoked")) return { sent: 0, held: 0, end: "revoked" };
  await settle(decisions);
  const login = decisions.some(([, decision]) => decision === "login");
  if (login) await markAll("waiting_login");
  const count = (wanted) => decisions.filter(([, decision]) => decision === wanted).length;
  const stop = login || count("retry") > 0;
  return { sent: count("sent"), held: count("held"), end: stop ? "stop" : "next" };
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
