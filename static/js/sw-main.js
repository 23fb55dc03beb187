// The service worker's work: static files cache-first, pages network-first with an offline
// copy of the few the street needs, and sending the outbox on start and on Background Sync.
// /sw.js (served by interrupters/pwa) imports this with the release's version and files.
import { sendNow } from "./lib/sender.js";

const PAGES = "pages";

/**
 * @param {{version: string, precache: string[], pages: string[], warm: string[], offline: string, icon?: string}} config
 */
export function startServiceWorker({ version, precache, pages, warm, offline, icon }) {
  const STATIC = `static-${version}`;

  self.addEventListener("install", (event) => {
    event.waitUntil(caches.open(STATIC).then((cache) => cache.addAll([...precache, offline])).then(() => self.skipWaiting()));
  });

  self.addEventListener("activate", (event) => {
    event.waitUntil((async () => {
      for (const key of await caches.keys()) if (key !== STATIC && key !== PAGES) await caches.delete(key);
      await self.clients.claim();
      // The street's pages at once; the other kept pages when first opened (networkFirst).
      await refreshPages(warm);
      await sendNow("sw-activate").catch(() => null);
    })());
  });

  self.addEventListener("fetch", (event) => {
    const request = event.request;
    const url = new URL(request.url);
    if (request.method !== "GET" || url.origin !== self.location.origin) return;
    if (url.pathname.startsWith("/static/v/")) event.respondWith(cacheFirst(STATIC, request));
    else if (request.mode === "navigate") {
      event.respondWith(networkFirst(request, url, pages, offline, STATIC));
      // The kept pages activation left for later (not `warm`): fetched after the first page
      // this worker serves, once each, so they are not part of the phone's cold first load.
      const later = pages.filter((path) => !warm.includes(path) && path !== url.pathname);
      event.waitUntil(keepMissing(later));
    }
  });

  self.addEventListener("sync", (event) => {
    if (event.tag !== "outbox") return;
    // A run that could not reach the server fails the event: the browser tries again later,
    // even with no page open.
    event.waitUntil(sendNow("background-sync").then((ending) => {
      if (ending === "offline" || ending === "unavailable" || ending === "stopped") throw new Error(ending);
    }));
  });

  self.addEventListener("message", (event) => {
    if (event.data?.type === "send") event.waitUntil(sendNow("message"));
  });

  bindPush(icon);

  // Every start of the worker is a chance to send what waits.
  sendNow("sw-start").catch(() => null);
}

async function cacheFirst(cacheName, request) {
  const cache = await caches.open(cacheName);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

async function networkFirst(request, url, pages, offline, staticCache) {
  const keep = pages.includes(url.pathname) && !url.search;
  try {
    const response = await fetch(request);
    // Only the pages a worker needs offline, only as the signed-in person got them, and only
    // those the server lets this person keep (a supervisor's start page is never kept).
    if (keep && response.ok && !response.redirected) await keepOrDrop(await caches.open(PAGES), url.pathname, response);
    return response;
  } catch (error) {
    if (pages.includes(url.pathname)) {
      const cache = await caches.open(PAGES);
      const copy = await cache.match(url.pathname);
      if (copy && expired(copy)) await cache.delete(url.pathname);
      else if (copy) return asKeptCopy(copy);
    }
    const fallback = await (await caches.open(staticCache)).match(offline);
    return fallback || Response.error();
  }
}

/** Keep the page if its answer says it may be kept (X-Keep-Offline: 1), else drop any old copy. */
async function keepOrDrop(cache, path, response) {
  if (response.headers.get("X-Keep-Offline") === "1") await cache.put(path, response.clone());
  else await cache.delete(path);
}

/**
 * A kept page as shown offline (templates/base.html): marked as a copy, so what needs the
 * network is hidden ([data-needs-network], app.css), and what only a copy shows (the
 * "offline, as of" note, "signing up needs the network") unhidden.
 */
async function asKeptCopy(copy) {
  const text = (await copy.text())
    .replace('<div id="page"', '<div id="page" data-kept-copy')
    .replaceAll("data-offline-only hidden", "data-offline-only");
  const headers = new Headers(copy.headers);
  headers.delete("Content-Length");
  return new Response(text, { status: copy.status, statusText: copy.statusText, headers });
}

/** A kept page past its X-Expires-At (an expired briefing) must be gone from the phone. */
function expired(response) {
  const until = Date.parse(response.headers.get("X-Expires-At") || "");
  return !Number.isNaN(until) && until <= Date.now();
}

/**
 * On activation, fetch the pages the street needs: a worker who signs in and walks into the
 * metro has the forms without having opened them again (the first visit is not controlled
 * yet, so it is not kept). After an update this also points them at the new static files.
 * The worker is registered only by a signed-in page; a page that answers with a redirect
 * (signed out) is not kept.
 */
/** Fetch the kept pages the phone has no copy of yet (offline: tried again at the next page). */
async function keepMissing(paths) {
  const cache = await caches.open(PAGES);
  const missing = [];
  for (const path of paths) if (!(await cache.match(path))) missing.push(path);
  if (missing.length) await refreshPages(missing);
}

async function refreshPages(pages) {
  const cache = await caches.open(PAGES);
  for (const path of pages) {
    try {
      const response = await fetch(path, { credentials: "same-origin" });
      const landed = new URL(response.url).pathname;
      if (response.ok && !response.redirected) await keepOrDrop(cache, path, response);
      // Signed out or refused: the copy goes. Locked (a field phone's PIN, issue 9): the copy
      // stays, for the street after a restart, with its codes hidden by pin-gate.js.
      else if (response.status === 401 || response.status === 403 || landed === "/login") await cache.delete(path);
    } catch { /* offline: keep the old copy */ }
  }
}

/**
 * A push message as the server sends it (interrupters/push/jobs.py): generic texts only, since
 * a lock screen is public; the details open in the app after sign-in.
 * @typedef {{title: string, body: string, url: string, tag: string, ack: boolean}} PushMessage
 */

/** Show pushes, and open the app at a notification's page when it is touched. */
function bindPush(icon) {
  self.addEventListener("push", (event) => {
    /** @type {Partial<PushMessage>} */
    let message = {};
    try {
      message = event.data ? event.data.json() : {};
    } catch {
      message = {};
    }
    const url = sameOriginPath(message.url);
    event.waitUntil(self.registration.showNotification(message.title || "Interrupters", {
      body: message.body || "",
      // One notification per subject: a repeat replaces the first, and alerts again.
      tag: message.tag || undefined,
      renotify: Boolean(message.tag),
      // An alert to acknowledge stays until it is touched.
      requireInteraction: Boolean(message.ack),
      icon,
      data: { url },
    }));
  });

  self.addEventListener("notificationclick", (event) => {
    event.notification.close();
    const target = new URL(sameOriginPath(event.notification.data?.url), self.location.origin);
    event.waitUntil(focusOrOpen(target));
  });
}

/** Only a path in this app; anything else opens the start page. */
function sameOriginPath(url) {
  if (typeof url !== "string" || !url.startsWith("/") || url.startsWith("//")) return "/";
  return url;
}

/**
 * Focus a window of the app already at `target`, or take one there, or open one. The server
 * answers an ended session with the login page, which keeps `target` as its `next` and
 * lands there after sign-in (and the second factor).
 */
async function focusOrOpen(target) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const same = windows.find((client) => client.url === target.href);
  if (same) return same.focus();
  const app = windows.find((client) => new URL(client.url).origin === target.origin);
  if (app) {
    // Focus when the browser allows it; the window goes to the item either way.
    await app.focus().catch(() => null);
    try {
      // navigate() works only for a window this worker controls.
      const moved = await app.navigate(target.href);
      if (moved) return moved;
    } catch { /* not this worker's window: open one */ }
  }
  return self.clients.openWindow(target.href);
}
