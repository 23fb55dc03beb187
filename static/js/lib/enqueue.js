// Saving a record to the outbox: sealed to the server's key (lib/seal.js), then stored. Only
// the pages with a form to save (and the briefing's read receipt) load it with the encryption.
import { announce, fetchConfig, requestBackgroundSync } from "./outbox.js";
import { db, getMeta } from "./store.js";
import { seal } from "./seal.js";

/**
 * Seal a record and store it. The UUID is the form's, made at submit: a double tap stores
 * the same UUID twice, which is one record.
 * @param {{kind: string, clientUuid: string, payload: object, summary: object}} record
 */
export async function enqueue({ kind, clientUuid, payload, summary }) {
  let key = await getMeta("public_key");
  if (!key) {
    await fetchConfig().catch(() => null);
    key = await getMeta("public_key");
  }
  if (!key) throw new Error("no-key");
  const envelope = await seal(key, payload, kind, clientUuid);
  const now = Date.now();
  /** @type {import("./store.js").OutboxRecord} */
  const record = {
    client_uuid: clientUuid, kind, envelope,
    summary: { ...summary, kind, created_at: now },
    state: "pending", attempts: 0, next_attempt_at: now, created_at: now,
  };
  await (await db()).put("outbox", record);
  announce({ type: "changed" });
  await requestBackgroundSync();
  return record;
}

