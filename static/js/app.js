// Small behaviours bound by data- attributes; everything but offline works without them.
import { bindCounters } from "./components/counter.js";
import { bindConfirms } from "./components/confirm.js";
import { bindOutboxForms } from "./components/outbox-form.js";
import { bindOutboxStatus, startOutbox } from "./components/outbox-status.js";
import { bindLogoutGuards, wipeIfAsked } from "./components/logout-guard.js";

function bindAll(root) {
  bindCounters(root);
  bindConfirms(root);
  bindOutboxForms(root);
  bindOutboxStatus(root);
  bindLogoutGuards(root);
  // Push is set up on the profile page and kept alive once a day: a page that needs neither
  // does not download it (the phone's JavaScript budget).
  if (root.querySelector?.("[data-push-optin]")) pushModule().then((push) => push.bindPushOptIns(root)).catch(() => null);
  // Only the briefing pages load their scripts.
  if (root.querySelector?.("[data-briefing-read]")) import("./components/briefing-read.js").then((m) => m.bindBriefingReads(root)).catch(() => null);
  if (root.querySelector?.("[data-passkey]")) import("./components/passkey.js").then((m) => m.bindPasskeys(root)).catch(() => null);
  if (root.querySelector?.("[data-presentation]")) import("./components/presentation.js").then((m) => m.bindPresentation(root)).catch(() => null);
  if (root.querySelector?.("[data-print]")) import("./components/print.js").then((m) => m.bindPrint(root)).catch(() => null);
}

const pushModule = () => import("./components/push-optin.js");

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
    if ("Notification" in window && Notification.permission === "granted") {
      pushModule().then((push) => push.refreshPushSubscription()).catch(() => null);
    }
  }
}
