// Encrypt a record to the server's public key before it is stored on the phone
// (DESIGN.md guarantee 6): ECDH P-256 with a fresh ephemeral key per record, HKDF-SHA256,
// AES-GCM-256. The server's interrupters/sync/crypto.py opens it with the same parameters.

const LABEL = new TextEncoder().encode("interrupters-outbox-v1");

/**
 * @typedef {Object} Envelope
 * @property {1|2} v      format version: 2 is the record deflated before it is encrypted and
 *                        the key as a compressed point (40% smaller on a slow upload), 1 where
 *                        the browser has no CompressionStream
 * @property {string} epk the ephemeral public key, raw point (2: compressed), base64url
 * @property {string} iv  12 random bytes, base64url
 * @property {string} ct  the ciphertext with its tag, base64url
 * @property {string} kid the id of the server key it was sealed to: the first 8 bytes of the
 *                        SHA-256 of that key's raw point, base64url (interrupters/keys.py). The
 *                        server keeps old keys after a rotation and opens each envelope with the
 *                        key it names; envelopes from before had none and are tried against each.
 */

/** @param {ArrayBuffer|Uint8Array} bytes */
export function toBase64url(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let text = "";
  for (const byte of view) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** @param {string} text */
export function fromBase64url(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

/**
 * @param {string} publicKeyRaw the server's key as /sync/config gives it
 * @param {object} payload      the record's fields
 * @param {string} kind
 * @param {string} clientUuid   bound to the ciphertext: the envelope fits no other record
 * @returns {Promise<Envelope>}
 */
export async function seal(publicKeyRaw, payload, kind, clientUuid) {
  const subtle = crypto.subtle;
  const serverRaw = fromBase64url(publicKeyRaw);
  const serverKey = await subtle.importKey(
    "raw", serverRaw, { name: "ECDH", namedCurve: "P-256" }, false, [],
  );
  const kid = toBase64url(new Uint8Array(await subtle.digest("SHA-256", serverRaw)).subarray(0, 8));
  // Not extractable: the private half never leaves WebCrypto and is dropped after use.
  const ephemeral = await subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
  const ephemeralRaw = new Uint8Array(await subtle.exportKey("raw", ephemeral.publicKey));
  const shared = await subtle.deriveBits({ name: "ECDH", public: serverKey }, ephemeral.privateKey, 256);
  const hkdf = await subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
  const key = await subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: ephemeralRaw, info: LABEL },
    hkdf, { name: "AES-GCM", length: 256 }, false, ["encrypt"],
  );
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const compact = typeof CompressionStream === "function";
  const plain = new TextEncoder().encode(JSON.stringify(payload));
  const ciphertext = await subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(`${kind}:${clientUuid}`) },
    key, compact ? await deflate(plain) : plain,
  );
  // The HKDF salt above is the uncompressed point either way; the envelope may carry it short.
  const epk = compact ? Uint8Array.of(2 | (ephemeralRaw[64] & 1), ...ephemeralRaw.subarray(1, 33)) : ephemeralRaw;
  return { v: compact ? 2 : 1, epk: toBase64url(epk), iv: toBase64url(iv), ct: toBase64url(ciphertext), kid };
}

/** @param {Uint8Array} bytes */
async function deflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
