// Behaviours bound by data- attributes; everything but offline works without them. A page
// downloads a behaviour's module only if it has its element; base.html preloads them.

/** [selector, loader, binder] */
const BEHAVIOURS = [
  ["textarea[data-counter]", () => import("./components/counter.js"), "bindCounters"],
  ["button[data-confirm]", () => import("./components/confirm.js"), "bindConfirms"],
  ["[data-outbox-status]", () => outboxStatus(), "bindOutboxStatus"],
  // A one-time act's form (the briefing's "I have read") gets its code with the first tap.
  ["form[data-outbox]:not([data-outbox-once])", () => outboxForm(), "bindOutboxForms"],
  ["[data-briefing-read], [data-outbox-once]", () => import("./components/briefing-read.js"), "bindBriefingReads"],
  ["[data-push-optin]", () => pushModule(), "bindPushOptIns"],
  ["[data-passkey]", () => import("./components/passkey.js"), "bindPasskeys"],
  ["[data-presentation]", () => import("./components/presentation.js"), "bindPresentation"],
  ["[data-print]", () => import("./components/print.js"), "bindPrint"],
];

const outboxStatus = () => import("./components/outbox-status.js");
const outboxForm = () => import("./components/outbox-form.js");
const pushModule = () => import("./components/push-optin.js");

/** @param {ParentNode} root */
function bindAll(root) {
  for (const [selector, load, bind] of BEHAVIOURS) {
    if (root.querySelector?.(selector)) load().then((module) => module[bind](root)).catch(() => null);
  }
  bindLogoutGuards(root);
  for (const form of root.querySelectorAll?.("form[data-outbox][data-outbox-once]") || []) {
    if (!(form instanceof HTMLFormElement) || form.dataset.onceBound) continue;
    form.dataset.onceBound = "1";
    form.addEventListener("submit", (event) => {
      if (form.dataset.outboxBound) return;
      event.preventDefault();
      outboxForm().then((module) => { module.bindOutboxForms(form.parentElement || document); form.requestSubmit(); }).catch(() => null);
    });
  }
}

/** The logout guard's code comes with the first press; without it (offline) nothing is sent. */
function bindLogoutGuards(root) {
  for (const form of root.querySelectorAll?.("form[data-logout-guard]") || []) {
    if (!(form instanceof HTMLFormElement) || form.dataset.guardBound) continue;
    form.dataset.guardBound = "1";
    form.addEventListener("submit", (event) => {
      if (form.dataset.confirmed) return;
      event.preventDefault();
      import("./components/logout-guard.js").then((module) => module.signOut(form)).catch(() => null);
    });
  }
}

/** After sign-out or revocation: wipe what is left (not every browser honours Clear-Site-Data). */
function wipeIfAsked() {
  if (document.body.dataset.wipe !== undefined) import("./lib/outbox.js").then((outbox) => outbox.wipe()).catch(() => null);
  // A forgotten PIN: the kept pages go, the outbox (sealed) stays for the next sign-in.
  else if (document.body.dataset.wipePages !== undefined) self.caches?.delete("pages").catch(() => null);
}

wipeIfAsked();
bindAll(document);
// htmx swaps in new content (boosted pages, fragments): bind what arrived.
document.addEventListener("htmx:load", (event) => bindAll(/** @type {ParentNode} */ (event.target)));
// A boosted link that fails for want of network becomes a real navigation, which the
// service worker answers from its cache.
document.addEventListener("htmx:sendError", (event) => {
  const path = event.detail?.pathInfo?.finalRequestPath || event.detail?.requestConfig?.path;
  if (path && event.detail?.requestConfig?.verb === "get") window.location.assign(path);
});

if (document.body.dataset.signedIn !== undefined) {
  outboxStatus().then((module) => module.startOutbox()).catch(() => null);
  if ("serviceWorker" in navigator) {
    // After the page's files (the install finds them in the HTTP cache); its URL names the
    // person's roles (base.html): a module worker's script comes without cookies.
    const url = document.body.dataset.serviceWorker || "/sw.js";
    const register = () => navigator.serviceWorker.register(url, { type: "module", scope: "/", updateViaCache: "all" }).catch(() => null);
    if (document.readyState === "complete") register();
    else addEventListener("load", register, { once: true });
    if ("Notification" in window && Notification.permission === "granted") {
      pushModule().then((push) => push.refreshPushSubscription()).catch(() => null);
    }
  }
}
