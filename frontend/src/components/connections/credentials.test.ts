import { parseCredentials } from "./credentials";

describe("parseCredentials", () => {
  it("recognises a service-account key file and names its account", () => {
    const parsed = parseCredentials(JSON.stringify({ type: "service_account", client_email: "sync@p.iam.gserviceaccount.com", private_key: "-----BEGIN" }));
    expect(parsed).toMatchObject({ ok: true, kind: "service_account", account: "sync@p.iam.gserviceaccount.com" });
  });

  it("recognises an OAuth client with a refresh token", () => {
    const parsed = parseCredentials(JSON.stringify({ client_id: "abc.apps.googleusercontent.com", client_secret: "s", refresh_token: "1//r" }));
    expect(parsed).toMatchObject({ ok: true, kind: "oauth" });
  });

  it("says what is wrong with anything else", () => {
    expect(parseCredentials("")).toMatchObject({ ok: false });
    expect(parseCredentials("{not json")).toEqual({ ok: false, error: "This is not valid JSON." });
    expect(parseCredentials("[1]")).toEqual({ ok: false, error: "The credentials must be a JSON object." });
    expect(parseCredentials(JSON.stringify({ type: "service_account" }))).toMatchObject({ ok: false, error: expect.stringContaining("client_email") });
    // The OAuth client file Google's console downloads has no refresh token.
    expect(parseCredentials(JSON.stringify({ installed: { client_id: "x" } }))).toMatchObject({ ok: false, error: expect.stringContaining("missing: client_id, client_secret, refresh_token") });
  });
});
