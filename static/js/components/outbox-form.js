// A form with data-outbox="<kind>" is saved to the phone's outbox instead of being posted:
// it works with no network, and the outbox sends it when it can. Without JavaScript the
// same form posts to the server as usual.
import { newUuid, sendNow } from "../lib/outbox.js";
import { enqueue } from "../lib/enqueue.js";

/** The form's fields as the server's form reads them; lists for repeated names. */
function payloadOf(form) {
  /** @type {Record<string, string|string[]>} */
  const payload = {};
  const data = new FormData(form);
  for (const [name, value] of data.entries()) {
    if (name === "csrf_token" || name === "client_uuid" || typeof value !== "string") continue;
    const multiple = form.elements.namedItem(name) instanceof RadioNodeList
      && form.querySelectorAll(`input[type=checkbox][name="${name}"]`).length > 0;
    if (multiple) (payload[name] ||= []).push(value);
    else payload[name] = value;
  }
  return payload;
}

/** Only what the pending list may show: the area's name, never a person or a note. */
function summaryOf(form) {
  // A form about a known record (a conflict's update) names the area on the form itself.
  if (form.dataset.summaryAreaName) return { area: form.dataset.summaryAreaName };
  const select = form.querySelector("select[data-summary-area]");
  const option = select?.selectedOptions?.[0];
  const group = option?.parentElement;
  const area = group instanceof HTMLOptGroupElement ? group.label.split(" · ")[0] : "";
  return { area };
}

function localNow() {
  const now = new Date();
  now.setSeconds(0, 0);
  return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

/** Times start from now; a correction's keep what was sent, and only an empty one starts now. */
function setNow(form) {
  const correcting = Boolean(form.querySelector("input[name=held_id]")?.value);
  for (const input of form.querySelectorAll("input[data-default-now]")) {
    if (!correcting || !input.value) input.value = localNow();
  }
}

/** Rules the server checks too, checked here first so a record is rarely held. */
function checkRules(form) {
  const subject = form.querySelector("input[name=subject]:checked")?.value;
  const rules = [
    [form.elements.namedItem("participant_id"), subject === "participant"],
    [form.elements.namedItem("age_band"), subject === "person"],
  ];
  for (const [field, required] of rules) {
    if (!(field instanceof HTMLSelectElement)) continue;
    field.setCustomValidity(required && !field.value ? form.dataset.requiredMessage || "!" : "");
  }
  return form.reportValidity();
}

/** @param {ParentNode} root */
export function bindOutboxForms(root) {
  for (const form of root.querySelectorAll("form[data-outbox]")) {
    if (form.dataset.outboxBound) continue;
    form.dataset.outboxBound = "1";
    // Chromium keeps what is typed into a form in its session files on disk (for restoring
    // tabs), outside the sealed outbox: a note would be readable on a lost phone. It keeps
    // nothing of a form with autocomplete off (and offers no autofill of notes either).
    form.setAttribute("autocomplete", "off");
    // A page served from the cache shows the time it was cached: start from now.
    setNow(form);
    const uuidInput = form.querySelector("input[name=client_uuid]");
    const button = form.querySelector("button[type=submit]");
    let saving = false;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      // A one-time act queued or sent (briefing-read.js) is not queued again.
      if (saving || form.dataset.recordState || !checkRules(form)) return;
      saving = true;
      button?.setAttribute("aria-busy", "true");
      try {
        if (uuidInput && !uuidInput.value) uuidInput.value = newUuid();
        await enqueue({
          kind: form.dataset.outbox,
          clientUuid: uuidInput ? uuidInput.value : newUuid(),
          payload: payloadOf(form),
          summary: { ...summaryOf(form), once: form.dataset.outboxOnce },
        });
        if (form.dataset.outboxOnce) form.dataset.recordState = "pending";
        // Saved: a fresh form for the next contact, with a new UUID at its submit.
        const keep = form.querySelector("select[data-summary-area]")?.value;
        form.reset();
        if (uuidInput) uuidInput.value = "";
        const held = form.querySelector("input[name=held_id]");
        if (held) held.value = "";
        if (keep) form.querySelector("select[data-summary-area]").value = keep;
        setNow(form);
        form.dispatchEvent(new CustomEvent("outbox:saved", { bubbles: true }));
        window.scrollTo({ top: 0 });
        sendNow("saved");
      } catch (error) {
        form.dispatchEvent(new CustomEvent("outbox:failed", { bubbles: true, detail: String(error) }));
      } finally {
        saving = false;
        button?.removeAttribute("aria-busy");
      }
    });
  }
}
