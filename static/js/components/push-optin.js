// Web Push on this phone. On the profile, [data-push-optin] asks for permission, subscribes
// through the service worker with the server's VAPID key and hands the subscription to the
// server; "turn off" undoes both. On every page, [data-push-refresh] confirms a subscription
// once a day, so a phone in use never expires on the server; one the server no longer has
// (removed from the profile, gone, expired, made with an old key) is unsubscribed here too.
// The texts come translated from data-text-* attributes.

const REFRESHED = "push-refreshed";

/**
 * What the server needs from a PushSubscription (`subscription.toJSON()`).
 * @typedef {{endpoint: string, expirationTime?: number|null, keys: {p256dh: string, auth: string}}} SubscriptionJSON
 */

/**
 * The data- attributes both elements carry.
 * @typedef {{key: string, device: string, csrf: string, subscribeUrl: string, unsubscribeUrl: string}} PushConfig
 */

/** @param {HTMLElement} element @returns {PushConfig} */
function configOf(element) {
  const { key = "", device = "", csrf = "", subscribeUrl = "", unsubscribeUrl = "" } = element.dataset;
  return { key, device, csrf, subscribeUrl, unsubscribeUrl };
}

function supported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

/** The VAPID key (base64url of the raw P-256 point) as PushManager.subscribe() wants it. */
function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** Was this subscription made with the server's current key? */
function sameKey(subscription, key) {
  const made = subscription.options?.applicationServerKey;
  if (!made) return true; // the browser does not say: assume so
  const a = new Uint8Array(made);
  const b = keyBytes(key);
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** POST JSON with the CSRF header; an error only for no network. */
function post(url, csrf, body) {
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify(body),
  });
}

/** The service worker's registration: app.js registers it on signed-in pages. */
function registration() {
  return Promise.race([
    navigator.serviceWorker.ready,
    new Promise((_resolve, reject) => setTimeout(() => reject(new Error("no service worker")), 10000)),
  ]);
}

function today(config) {
  return `${config.device}:${new Date().toISOString().slice(0, 10)}`;
}

/**
 * Confirm this browser's subscription with the server. Returns true if the server has it,
 * false if it had to be dropped here, null if there is none (or nothing could be asked).
 * @param {PushConfig} config
 * @param {{force?: boolean}} [options]
 */
async function confirmSubscription(config, { force = false } = {}) {
  if (!supported() || Notification.permission !== "granted") return null;
  if (!force && localStorage.getItem(REFRESHED) === today(config)) return true;
  const found = await navigator.serviceWorker.getRegistration("/");
  const subscription = await found?.pushManager.getSubscription();
  if (!subscription) return null;
  if (!sameKey(subscription, config.key)) {
    // Made for another key (a new server): it cannot carry our messages any more.
    const endpoint = subscription.endpoint;
    await subscription.unsubscribe();
    await post(config.unsubscribeUrl, config.csrf, { endpoint }).catch(() => null);
    return false;
  }
  const response = await post(config.subscribeUrl, config.csrf, { refresh: true, endpoint: subscription.endpoint });
  if (response.status === 404) {
    await subscription.unsubscribe();
    localStorage.removeItem(REFRESHED);
    return false;
  }
  if (response.ok) localStorage.setItem(REFRESHED, today(config));
  return response.ok ? true : null;
}

/** Once a page load: keep this phone's subscription alive on the server. */
export function refreshPushSubscription() {
  const element = document.querySelector("[data-push-refresh]");
  if (element instanceof HTMLElement) confirmSubscription(configOf(element)).catch(() => null);
}

/** @param {ParentNode} root */
export function bindPushOptIns(root) {
  for (const panel of root.querySelectorAll("[data-push-optin]")) {
    if (!(panel instanceof HTMLElement) || panel.dataset.pushBound) continue;
    panel.dataset.pushBound = "1";
    setUp(panel).catch(() => null);
  }
}

/** @param {HTMLElement} panel */
async function setUp(panel) {
  const config = configOf(panel);
  const state = panel.querySelector("[data-push-state]");
  const enable = panel.querySelector("[data-push-enable]");
  const disable = panel.querySelector("[data-push-disable]");
  if (!(state instanceof HTMLElement) || !(enable instanceof HTMLButtonElement) || !(disable instanceof HTMLButtonElement)) return;

  /** @param {"on"|"off"|"working"|"denied"|"unsupported"|"failed"} what */
  const show = (what) => {
    const key = `text${what[0].toUpperCase()}${what.slice(1)}`;
    state.textContent = panel.dataset[key] || "";
    panel.dataset.pushState = what;
    enable.hidden = !(what === "off" || what === "failed");
    disable.hidden = what !== "on";
  };

  if (!supported()) return show("unsupported");
  if (Notification.permission === "denied") return show("denied");
  show("working");
  const known = await confirmSubscription(config, { force: true }).catch(() => null);
  show(known ? "on" : "off");

  enable.addEventListener("click", async () => {
    enable.setAttribute("aria-busy", "true");
    let subscription = null;
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") return show(permission === "denied" ? "denied" : "off");
      const found = await registration();
      subscription = await found.pushManager.getSubscription();
      if (subscription && !sameKey(subscription, config.key)) {
        await subscription.unsubscribe();
        subscription = null;
      }
      subscription ||= await found.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(config.key) });
      /** @type {SubscriptionJSON} */
      const body = subscription.toJSON();
      const response = await post(config.subscribeUrl, config.csrf, body);
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      localStorage.setItem(REFRESHED, today(config));
      show("on");
    } catch (error) {
      // Nothing half-done: a subscription the server does not have is dropped.
      await subscription?.unsubscribe().catch(() => null);
      show("failed");
    } finally {
      enable.removeAttribute("aria-busy");
    }
  });

  disable.addEventListener("click", async () => {
    disable.setAttribute("aria-busy", "true");
    try {
      const found = await registration();
      const subscription = await found.pushManager.getSubscription();
      if (subscription) {
        const endpoint = subscription.endpoint;
        // Stop here first: the person's wish holds even if the server cannot be told now
        // (the push service then answers 410 and the server drops it).
        await subscription.unsubscribe();
        await post(config.unsubscribeUrl, config.csrf, { endpoint }).catch(() => null);
      }
      localStorage.removeItem(REFRESHED);
      show("off");
    } finally {
      disable.removeAttribute("aria-busy");
    }
  });
}
