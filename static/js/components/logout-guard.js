// Signing out is refused while records wait, unless the person discards them (audited).
// After sign-out the login page carries data-wipe: remove everything the app kept.
import { count, fetchConfig, list, sendNow, wipe } from "../lib/outbox.js";
import { counted, reportDiscarded } from "./outbox-status.js";

/** @param {ParentNode} root */
export function bindLogoutGuards(root) {
  for (const form of root.querySelectorAll("form[data-logout-guard]")) {
    if (form.dataset.guardBound) continue;
    form.dataset.guardBound = "1";
    form.addEventListener("submit", async (event) => {
      if (form.dataset.confirmed) return;
      event.preventDefault();
      const waiting = await count().catch(() => 0);
      if (waiting && !window.confirm(counted(form.dataset, "textWaiting", waiting))) {
        sendNow("logout-refused");
        return;
      }
      if (waiting) {
        // Discarding is audited: if the server cannot record it (no network), nothing is
        // discarded and the person stays signed in with the records kept.
        const panel = document.querySelector("[data-outbox-status]");
        if (!panel || !(await reportDiscarded(panel, await list()))) {
          sendNow("logout-refused");
          return;
        }
      }
      // A fresh CSRF token: the page may have been open all night (the outbox form never
      // reloads it) or be a copy the service worker kept, and its token expires after an hour.
      const fresh = await fetchConfig().catch(() => null);
      const input = form.querySelector("input[name=csrf_token]");
      if (input && fresh?.status === 200 && fresh.body?.csrf_token) input.value = fresh.body.csrf_token;
      await wipe().catch(() => null);
      form.dataset.confirmed = "1";
      form.requestSubmit();
    });
  }
}

/** On the page after sign-out or revocation: wipe what is left (not every browser honours Clear-Site-Data). */
export function wipeIfAsked() {
  if (document.body.dataset.wipe !== undefined) wipe().catch(() => null);
  // A forgotten PIN: the kept pages go, the outbox (sealed) stays for the next sign-in.
  else if (document.body.dataset.wipePages !== undefined) self.caches?.delete("pages").catch(() => null);
}
