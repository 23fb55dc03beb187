// A read receipt: the first time this phone shows a briefing, one "briefing_read" record goes
// through the outbox (so it arrives even if the briefing was opened offline).
import { enqueue, newUuid, sendNow } from "../lib/outbox.js";

function localNow() {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

/** @param {ParentNode} root */
export function bindBriefingReads(root) {
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
