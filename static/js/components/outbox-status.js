// The outbox's state on every page: how many records wait, each one's state, "send now".
// Texts come translated from the server in data-text-* attributes (Babel owns every string).
import { count, ensureKey, events, fetchConfig, forgetConfig, list, nextAttemptAt, resendAsNew, discard, sendNow } from "../lib/outbox.js";
import { getMeta, setMeta } from "../lib/store.js";

let timer = 0;
let fading = 0;
// "Sent: the server has everything" shows this long, then the panel steps aside.
const ALL_SENT_SHOWN_MS = 10000;
// A clock this far from the server's is named: half the ten minutes a time may lie ahead
// before the server holds its record (FUTURE_TOLERANCE in the services).
const CLOCK_OFF_MS = 5 * 60 * 1000;
/** @type {{panel: HTMLElement, lastSent: number} | null} */
let wanted = null;
let rendering = false;

/**
 * Render the panel after a change, one render at a time: changes that arrive meanwhile are
 * rendered once, after it, as the latest of them asks. A render reads every waiting record
 * and rebuilds its rows, so one render a change made a burst of changes (a batch sent, many
 * records queued) cost the square of the records waiting.
 * @param {HTMLElement} panel
 */
async function refresh(panel, lastSent = 0) {
  wanted = { panel, lastSent };
  if (rendering) return;
  rendering = true;
  try {
    while (wanted) {
      const next = wanted;
      wanted = null;
      await render(next.panel, next.lastSent);
    }
  } finally {
    rendering = false;
  }
}

/** @param {HTMLElement} panel */
async function render(panel, lastSent) {
  const text = panel.dataset;
  const records = await list();
  const held = (await getMeta("held")) || 0;
  const heading = panel.querySelector("[data-outbox-heading]");
  const rows = panel.querySelector("[data-outbox-rows]");
  const notice = panel.querySelector("[data-outbox-notice]");
  const sendButton = panel.querySelector("[data-outbox-send]");
  panel.dataset.count = String(records.length);
  rows.replaceChildren();
  if (records.length) {
    heading.textContent = counted(text, "textWaiting", records.length);
    for (const record of records) rows.append(row(panel, record));
  } else {
    heading.textContent = lastSent ? text.textAllSent : "";
  }
  notice.querySelector("[data-outbox-notice-text]").textContent = held ? counted(text, "textHeld", held) : "";
  notice.hidden = !held;
  const skew = Number(await getMeta("clock_skew")) || 0;
  const clock = panel.querySelector("[data-outbox-clock]");
  const clockOff = Math.abs(skew) >= CLOCK_OFF_MS;
  const now = Date.now();
  clock.textContent = clockOff ? (text.textClock || "").replace("{phone}", formatWhen(now)).replace("{server}", formatWhen(now - skew)) : "";
  clock.hidden = !clockOff;
  sendButton.hidden = !records.length;
  panel.hidden = !records.length && !lastSent && !held && !clockOff;
  clearTimeout(fading);
  if (!records.length && !held && !clockOff && lastSent) fading = setTimeout(() => { panel.hidden = true; }, ALL_SENT_SHOWN_MS);
  schedule(panel);
}

/**
 * A text with its count: the page gives the singular as `<name>One` (Swedish and English
 * both have one form for 1 and one for the rest).
 * @param {DOMStringMap} texts @param {string} name @param {number} count
 */
export function counted(texts, name, count) {
  const text = (count === 1 && texts[`${name}One`]) || texts[name] || "";
  return text.replace("{count}", String(count));
}

/** @type {Map<string, Intl.DateTimeFormat>} */
const formats = new Map();

/** "mån 21:15": one formatter a language (toLocaleString made one a row, 0.17 ms each). */
function formatWhen(ms) {
  const lang = document.documentElement.lang || "sv";
  let format = formats.get(lang);
  if (!format) {
    // A 24-hour clock in English too ("Sat 21:15", not "Sat 09:15 PM"), as the server writes times.
    format = new Intl.DateTimeFormat(lang, { weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    formats.set(lang, format);
  }
  return format.format(new Date(ms));
}

/** @param {HTMLElement} panel @param {import("../lib/store.js").OutboxRecord} record */
function row(panel, record) {
  const text = panel.dataset;
  const item = document.createElement("li");
  item.className = "card outbox-row";
  item.dataset.state = record.state;
  const when = formatWhen(record.summary.created_at);
  const kind = text[`kind${record.kind[0].toUpperCase()}${record.kind.slice(1)}`] || record.kind;
  const state = text[`state${record.state.replace(/(^|_)(\w)/g, (_m, _s, c) => c.toUpperCase())}`] || record.state;
  const title = document.createElement("div");
  title.className = "card-head";
  const label = document.createElement("span");
  label.textContent = `${kind} · ${when}${record.summary.area ? ` · ${record.summary.area}` : ""}`;
  const badge = document.createElement("span");
  badge.className = `badge badge-${record.state}`;
  badge.textContent = state;
  title.append(label, badge);
  item.append(title);
  if (record.state === "conflict" || record.state === "unreadable") {
    const actions = document.createElement("div");
    actions.className = "actions";
    if (record.state === "conflict") actions.append(button(text.textResend, () => resendAsNew(record.client_uuid).then(() => sendNow("resend"))));
    actions.append(button(text.textDiscard, () => discardOne(panel, record)));
    item.append(actions);
  }
  return item;
}

function button(label, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.addEventListener("click", onClick);
  return element;
}

async function discardOne(panel, record) {
  if (!window.confirm(panel.dataset.textConfirmDiscard)) return;
  // Discarding is audited: without the server's acknowledgement the record stays.
  if (!(await reportDiscarded(panel, [record]))) return;
  await discard([record.client_uuid]);
}

/**
 * The server audits every discarded record (kind and count only). True once it has: a
 * record may be discarded only then. The token is fetched fresh, since this page may be a
 * copy the service worker kept for longer than a token lives.
 */
export async function reportDiscarded(panel, records) {
  try {
    const config = await fetchConfig();
    if (config.status !== 200 || !config.body?.csrf_token) return false;
    const body = new FormData();
    body.append("csrf_token", config.body.csrf_token);
    for (const record of records) body.append("kinds", record.kind);
    const response = await fetch(panel.dataset.discardUrl, {
      method: "POST", body, credentials: "same-origin", redirect: "error", headers: { Accept: "application/json" },
    });
    return response.ok;
  } catch {
    return false; // no network: nothing is discarded
  }
}

function schedule(panel) {
  clearTimeout(timer);
  nextAttemptAt().then((at) => {
    if (at !== null) timer = setTimeout(() => sendNow("timer").then(() => refresh(panel)), Math.max(0, at - Date.now()) + 50);
  });
}

/** @param {ParentNode} root */
export function bindOutboxStatus(root) {
  const panel = root.querySelector?.("[data-outbox-status]");
  if (!panel || panel.dataset.bound) return;
  panel.dataset.bound = "1";
  panel.querySelector("[data-outbox-send]").addEventListener("click", () => sendNow("button"));
  panel.querySelector("[data-outbox-notice]").addEventListener("click", () => setMeta("held", 0));
  // The list of what needs correction is open, however it was reached: the phone's notice of
  // held records has been seen (and must not outlive their correction or discarding).
  const seen = root.querySelector?.("[data-held-list]") ? setMeta("held", 0) : Promise.resolve();
  seen.catch(() => null).then(() => refresh(panel, 0));
  // A clock named as wrong is measured again with each page while there is network, so the
  // line goes once the phone's clock is set right (only such a phone asks).
  getMeta("clock_skew").then((skew) => {
    if (Math.abs(Number(skew) || 0) >= CLOCK_OFF_MS && navigator.onLine) measureClock(panel);
  }).catch(() => null);
}

/** This phone's clock against the server's, measured afresh here (the answer that held
 * records may have gone to the service worker); then the panel again. @param {HTMLElement} panel */
function measureClock(panel) {
  forgetConfig();
  fetchConfig().then(() => refresh(panel, 0)).catch(() => null);
}

let wired = false;
/** Page-wide triggers: page load, back online, and any change to the outbox. */
export function startOutbox() {
  if (wired) return;
  wired = true;
  events.addEventListener("change", async (event) => {
    const panel = document.querySelector("[data-outbox-status]");
    if (event.detail?.type === "wiped") {
      window.location.assign(panel?.dataset.loginUrl || "/login");
      return;
    }
    if (panel) refresh(panel, event.detail?.sent || 0);
    // Records held: a wrong clock is the likeliest cause, and the panel says so if it is.
    if (panel && event.detail?.held) measureClock(panel);
  });
  window.addEventListener("online", () => sendNow("online"));
  navigator.storage?.persist?.();
  // The key first: a worker who goes out with an empty outbox must be able to save offline.
  // The page carries it (base.html), so this costs no request.
  const key = document.querySelector("[data-outbox-status]")?.getAttribute("data-public-key") || undefined;
  ensureKey(key).then(() => sendNow("page-load"));
}

export { count };
