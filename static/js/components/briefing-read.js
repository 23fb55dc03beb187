// A read receipt: the first time this phone shows a briefing, one "briefing_read" record goes
// through the outbox (so it arrives even if the briefing was opened offline). A one-time act
// (data-outbox-once: the acknowledgement) shows its state for its button; the mark (no person,
// wiped at logout) outlives a kept copy of the page.
import { events, list, newUuid, sendNow } from "../lib/outbox.js";
import { enqueue } from "../lib/enqueue.js";
import { getMeta, setMeta } from "../lib/store.js";

async function showOnce() {
  const queued = new Set((await list()).map((record) => record.summary?.once));
  // Acts the server held ("needs correction"): not done, so offered again until done anew.
  const held = new Set((await getMeta("once_held")) || []);
  const doneAgain = [];
  for (const form of document.querySelectorAll("form[data-outbox-once]")) {
    const key = form.dataset.outboxOnce;
    const mark = `outbox-once:${key}`;
    if (held.has(key)) {
      if (queued.has(key)) doneAgain.push(key);
      else localStorage.removeItem(mark);
    }
    if (queued.has(key)) localStorage.setItem(mark, "1");
    const state = queued.has(key) ? "pending" : localStorage.getItem(mark) ? "sent" : "";
    form.dataset.recordState = state;
    form.querySelector("button")?.toggleAttribute("hidden", Boolean(state));
    const line = form.querySelector("[data-record-state]");
    line.textContent = state && line.dataset[state];
    line.hidden = !state;
  }
  if (doneAgain.length) {
    const now = (await getMeta("once_held")) || [];
    await setMeta("once_held", now.filter((key) => !doneAgain.includes(key)));
  }
}
let watching = false;

function localNow() {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

/** @param {ParentNode} root */
export function bindBriefingReads(root) {
  if (!watching) events.addEventListener("change", () => showOnce().catch(() => null));
  watching = true;
  showOnce().catch(() => null);
  for (const element of root.querySelectorAll("[data-briefing-read]")) {
    const id = element.getAttribute("data-briefing-read");
    const key = `briefing-read:${id}`;
    if (!id || localStorage.getItem(key)) continue;
    localStorage.setItem(key, "1");
    /** @type {{briefing_id: string, at: string}} the AcknowledgeForm's fields */
    const payload = { briefing_id: id, at: localNow() };
    enqueue({ kind: "briefing_read", clientUuid: newUuid(), payload, summary: { area: "" } })
      .then(() => sendNow("saved"))
      .catch(() => localStorage.removeItem(key));
  }
}
