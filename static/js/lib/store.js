// The phone's IndexedDB: the outbox and a few settings. Nothing in it can be read back
// about a person: records are sealed (lib/seal.js) and summaries name no one.
import { openDB, deleteDB } from "../vendor/idb-8.0.4.js";

export const DB_NAME = "interrupters";
const DB_VERSION = 1;

/**
 * @typedef {Object} Summary   what the pending list shows; nothing about a person
 * @property {string} kind     "contact" (later "conflict", "mediation", "walk_report", ...)
 * @property {number} created_at ms since the epoch, device clock
 * @property {string} [area]   the area's name, e.g. "Rinkeby"
 * @property {string} [once]   a one-time act's key, e.g. "briefing_ack:12" (queued once)
 *
 * @typedef {Object} OutboxRecord
 * @property {string} client_uuid  made when the form was submitted
 * @property {string} kind
 * @property {import("./seal.js").Envelope} envelope
 * @property {Summary} summary
 * @property {"pending"|"sending"|"waiting_login"|"conflict"|"unreadable"} state
 * @property {number} attempts        failed sends so far (for the back-off)
 * @property {number} next_attempt_at ms since the epoch
 * @property {number} created_at
 *
 * @typedef {Object} Meta      the "meta" store: key -> value
 * @property {string} [public_key] the server's outbox key (not secret)
 * @property {number} [held]       records the server kept for correction, not yet seen
 * @property {number} [clock_skew] this phone's clock minus the server's, ms (lib/outbox.js)
 * @property {string[]} [once_held] one-time acts (summary.once) the server held: not done
 */

/** Explicit upgrade: each version's step runs once, in order. */
function upgrade(db, oldVersion) {
  if (oldVersion < 1) {
    const outbox = db.createObjectStore("outbox", { keyPath: "client_uuid" });
    outbox.createIndex("created_at", "created_at");
    db.createObjectStore("meta");
  }
}

/** @type {Promise<import("../vendor/idb-8.0.4.js").IDBPDatabase>|null} */
let opening = null;

export function db() {
  if (!opening) {
    opening = openDB(DB_NAME, DB_VERSION, {
      upgrade,
      // Another tab is wiping or upgrading: let go so it can.
      blocking() { opening?.then((d) => d.close()); opening = null; },
      terminated() { opening = null; },
    });
  }
  return opening;
}

export async function getMeta(key) { return (await db()).get("meta", key); }
export async function setMeta(key, value) { return (await db()).put("meta", value, key); }

/** Close and delete the database (logout, revocation). */
export async function dropDatabase() {
  if (opening) { try { (await opening).close(); } catch { /* already gone */ } opening = null; }
  await deleteDB(DB_NAME);
}
