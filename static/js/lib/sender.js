// The outbox's sender (DESIGN.md "Offline and sync: the guarantees"): one at a time, on every
// trigger (page load, online, Background Sync, service-worker start, "send now"); back-off
// capped at five minutes; an entry leaves only after a definitive answer. The service worker
// imports it; a page only once something is due (lib/outbox.js, sendNow).
import { announce, DUE_STATES, IMMEDIATE, due, fetchConfig, forgetConfig, list, wipe } from "./outbox.js";
import { db, getMeta, setMeta } from "./store.js";

const JSON_HEADERS = { Accept: "application/json" };
const LOCK = "interrupters-outbox-sender";
const MAX_BACKOFF_MS = 5 * 60 * 1000;
// Records a request at most; the server's /sync/config says how many it takes ("max_batch";
// a server without it takes one). On slow 4G a request costs a 150 ms round trip before its
// bytes: one request a record spent 150 s on round trips alone for 1,000 records.
const MAX_BATCH = 200;
const MAX_PARALLEL = 4;
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
  // A one-time act the server held was not done: its page offers it again (briefing-read.js).
  const held = decisions.filter(([record, decision]) => decision === "held" && record.summary?.once);
  if (held.length) await setMeta("once_held", [...new Set([...((await getMeta("once_held")) || []), ...held.map(([record]) => record.summary.once)])]);
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
    // No answer: the next run asks the server afresh, as after any failure.
    forgetConfig();
    await settle(records.map((record) => [record, "retry"]));
    return { sent: 0, held: 0, end: "stop" };
  }
  // A stale token, a session gone, a server in trouble: the next run asks for a new
  // configuration (only a run that went well lends its answer to the next).
  if (!response.ok) forgetConfig();
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

