// Signing in. The token lives in sessionStorage only (gone with the tab, never in a URL).
// Locally a person pastes a `make token`; in AWS, Cognito's hosted UI with the
// authorization-code grant and PKCE gives the ID token the API checks.

const TOKEN = "leadcrm.token";
const PKCE = "leadcrm.pkce";

export const session = {
  get: () => sessionStorage.getItem(TOKEN),
  set: (token) => sessionStorage.setItem(TOKEN, token),
  clear: () => sessionStorage.removeItem(TOKEN),
};

// The claims of a JWT, unverified (the API verifies; we only read the expiry and the role).
export function claims(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      Array.from(atob(payload.padEnd(payload.length + ((4 - (payload.length % 4)) % 4), "=")))
        .map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0"))
        .join(""),
    );
    return JSON.parse(json);
  } catch {
    return null;
  }
}

export function looksLikeJwt(token) {
  const parts = token.split(".");
  return parts.length === 3 && parts.every((part) => /^[A-Za-z0-9_-]+$/.test(part)) && claims(token) !== null;
}

const base64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

const randomString = (size = 32) => base64url(crypto.getRandomValues(new Uint8Array(size)));

// The page itself, without query or fragment: what Cognito must send people back to.
export const redirectUri = () => location.origin + location.pathname;

export async function startCognitoSignIn(cognito) {
  const verifier = randomString(48);
  const state = randomString(16);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state, hash: location.hash }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: cognito.client_id,
    redirect_uri: redirectUri(),
    scope: cognito.scopes.join(" "),
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  location.assign(`${cognito.domain}/oauth2/authorize?${query}`);
}

// Back from the hosted UI with ?code=…&state=…: trade the code (and our verifier) for tokens,
// then take the code out of the address bar. Returns null when this is not such a return.
export async function finishCognitoSignIn(cognito) {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  const failure = params.get("error");
  if (!code && !failure) return null;
  const saved = JSON.parse(sessionStorage.getItem(PKCE) || "null");
  sessionStorage.removeItem(PKCE);
  history.replaceState(null, "", location.pathname + ((saved && saved.hash) || ""));
  if (failure) throw new Error(params.get("error_description") || failure);
  if (!saved || saved.state !== params.get("state")) throw new Error("state mismatch: start the sign-in again");
  const response = await fetch(`${cognito.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: cognito.client_id,
      code,
      redirect_uri: redirectUri(),
      code_verifier: saved.verifier,
    }),
    credentials: "omit",
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !body.id_token) throw new Error(body.error_description || body.error || `HTTP ${response.status}`);
  // The ID token carries the group and custom:operator_id the API reads.
  session.set(body.id_token);
  return body.id_token;
}

export function cognitoSignOutUrl(cognito) {
  const query = new URLSearchParams({ client_id: cognito.client_id, logout_uri: redirectUri() });
  return `${cognito.domain}/logout?${query}`;
}
