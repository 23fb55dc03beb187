// Passkeys (WebAuthn): <button data-passkey="register|sign-in" data-options-url data-url
// data-csrf data-text-failed hidden>. The button shows only where the browser has passkeys;
// the server makes the challenge and checks the answer (interrupters/auth/passkeys.py).

/** @param {string} text base64url @returns {ArrayBuffer} */
function fromBase64url(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  return bytes.buffer;
}

/** @param {ArrayBuffer | null} buffer @returns {string | null} */
function toBase64url(buffer) {
  if (!buffer) return null;
  let text = "";
  for (const byte of new Uint8Array(buffer)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** @param {{id: string}[] | undefined} list */
const descriptors = (list) => (list || []).map((item) => ({ ...item, id: fromBase64url(item.id) }));

/** @param {HTMLElement} button @param {string} url @param {string | null} body */
function post(button, url, body) {
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRFToken": button.dataset.csrf || "", Accept: "application/json", "Content-Type": "application/json" },
    body,
  });
}

/** @param {HTMLElement} button @param {string} options */
async function register(button, options) {
  const publicKey = JSON.parse(options);
  publicKey.challenge = fromBase64url(publicKey.challenge);
  publicKey.user.id = fromBase64url(publicKey.user.id);
  publicKey.excludeCredentials = descriptors(publicKey.excludeCredentials);
  const credential = /** @type {PublicKeyCredential} */ (await navigator.credentials.create({ publicKey }));
  const response = /** @type {AuthenticatorAttestationResponse} */ (credential.response);
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: toBase64url(response.clientDataJSON),
      attestationObject: toBase64url(response.attestationObject),
      transports: response.getTransports ? response.getTransports() : [],
    },
    clientExtensionResults: credential.getClientExtensionResults(),
  };
}

/** @param {string} options */
async function signIn(options) {
  const publicKey = JSON.parse(options);
  publicKey.challenge = fromBase64url(publicKey.challenge);
  publicKey.allowCredentials = descriptors(publicKey.allowCredentials);
  const credential = /** @type {PublicKeyCredential} */ (await navigator.credentials.get({ publicKey }));
  const response = /** @type {AuthenticatorAssertionResponse} */ (credential.response);
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: toBase64url(response.clientDataJSON),
      authenticatorData: toBase64url(response.authenticatorData),
      signature: toBase64url(response.signature),
      userHandle: toBase64url(response.userHandle),
    },
    clientExtensionResults: credential.getClientExtensionResults(),
  };
}

/** @param {HTMLElement} button */
async function run(button) {
  const status = button.parentElement?.querySelector("[data-passkey-status]");
  const fail = () => {
    if (status) status.textContent = button.dataset.textFailed || "";
  };
  button.setAttribute("disabled", "");
  try {
    const optionsResponse = await post(button, button.dataset.optionsUrl || "", null);
    if (!optionsResponse.ok) return fail();
    const options = await optionsResponse.text();
    const answer = button.dataset.passkey === "register" ? await register(button, options) : await signIn(options);
    const result = await post(button, button.dataset.url || "", JSON.stringify(answer));
    const body = await result.json();
    if (result.ok && body.status === "ok") window.location.assign(body.next || "/");
    else fail();
  } catch {
    fail();
  } finally {
    button.removeAttribute("disabled");
  }
}

/** @param {ParentNode} root */
export function bindPasskeys(root) {
  for (const button of root.querySelectorAll("[data-passkey]")) {
    if (!(button instanceof HTMLElement) || button.dataset.passkeyBound) continue;
    button.dataset.passkeyBound = "1";
    if (!window.PublicKeyCredential || !navigator.credentials) continue;
    button.hidden = false;
    button.addEventListener("click", () => run(button));
  }
}
