// Small behaviours bound by data- attributes; everything but offline works without them.
import { bindCounters } from "./components/counter.js";
import { bindConfirms } from "./components/confirm.js";
import { bindOutboxForms } from "./components/outbox-form.js";
import { bindOutboxStatus, startOutbox } from "./components/outbox-status.js";
import { bindLogoutGuards, wipeIfAsked } from "./components/logout-guard.js";
import { bindPushOptIns, refreshPushSubscription } from "./components/push-optin.js";

function bindAll(root) {
  bindCounters(root);
  bindConfirms(root);
  bindOutboxForms(root);
  bindOutboxStatus(root);
  bindLogoutGuards(root);
  bindPushOptIns(root);
}

wipeIfAsked();
bindAll(document);
// htmx swaps in new content (boosted pages, fragments): bind what arrived.
document.addEventListener("htmx:load", (event) => bindAll(event.target));
// A boosted link that fails for want of network becomes a real navigation, which the
// service worker answers from its cache.
document.addEventListener("htmx:sendError", (event) => {
  const path = event.detail?.pathInfo?.finalRequestPath || event.detail?.requestConfig?.path;
  if (path && event.detail?.requestConfig?.verb === "get") window.location.assign(path);
});

if (document.body.dataset.signedIn !== undefined) {
  startOutbox();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { type: "module", scope: "/" }).catch(() => null);
    refreshPushSubscription();
  }
}
