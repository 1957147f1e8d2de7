/** A Google credential as pasted or uploaded: a service-account key file, or an OAuth client
 * with a refresh token. Read here only to tell people what they pasted before it is sent;
 * the API validates it for real. */
export type ParsedCredentials =
  | { ok: true; kind: "service_account" | "oauth"; account: string; credentials: Record<string, unknown> }
  | { ok: false; error: string };

const OAUTH_FIELDS = ["client_id", "client_secret", "refresh_token"] as const;

export function parseCredentials(text: string): ParsedCredentials {
  if (!text.trim()) return { ok: false, error: "Paste the credentials JSON or upload the key file." };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: "This is not valid JSON." };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, error: "The credentials must be a JSON object." };
  }
  const credentials = value as Record<string, unknown>;
  if (credentials.type === "service_account") {
    if (typeof credentials.client_email !== "string" || typeof credentials.private_key !== "string") {
      return { ok: false, error: "A service-account key needs client_email and private_key." };
    }
    return { ok: true, kind: "service_account", account: credentials.client_email, credentials };
  }
  // The file Google's console downloads for an OAuth client nests it under "installed" or
  // "web", without a refresh token: say what is missing rather than "invalid".
  const missing = OAUTH_FIELDS.filter((name) => typeof credentials[name] !== "string" || !credentials[name]);
  if (missing.length > 0) {
    return {
      ok: false,
      error: `Expected a service-account key (type "service_account") or an OAuth client with ${OAUTH_FIELDS.join(", ")}; missing: ${missing.join(", ")}.`,
    };
  }
  return { ok: true, kind: "oauth", account: `OAuth client ${String(credentials.client_id)}`, credentials };
}
