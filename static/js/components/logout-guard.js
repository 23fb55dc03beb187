// Signing out is refused while records wait, unless the person discards them (audited).
// After sign-out the login page carries data-wipe: app.js removes everything the app kept.
import { count, fetchConfig, list, sendNow, wipe } from "../lib/outbox.js";
import { counted, reportDiscarded } from "./outbox-status.js";

/**
 * Sign out with the form, once nothing waits unsent (or the person discarded it) and this
 * phone is wiped. app.js calls this on the form's submit, having stopped it.
 * @param {HTMLFormElement} form
 */
export async function signOut(form) {
  const waiting = await count().catch(() => 0);
  if (waiting && !window.confirm(counted(form.dataset, "textWaiting", waiting))) {
    sendNow("logout-refused");
    return;
  }
  if (waiting) {
    // Discarding is audited: if the server cannot record it (no network), nothing is
    // discarded and the person stays signed in with the records kept.
    const panel = document.querySelector("[data-outbox-status]");
    if (!(panel instanceof HTMLElement) || !(await reportDiscarded(panel, await list()))) {
      sendNow("logout-refused");
      return;
    }
  }
  // A fresh CSRF token: the page may have been open all night (the outbox form never
  // reloads it) or be a copy the service worker kept, and its token expires after an hour.
  const fresh = await fetchConfig().catch(() => null);
  const input = form.querySelector("input[name=csrf_token]");
  if (input instanceof HTMLInputElement && fresh?.status === 200 && fresh.body?.csrf_token) input.value = fresh.body.csrf_token;
  await wipe().catch(() => null);
  form.dataset.confirmed = "1";
  form.requestSubmit();
}
