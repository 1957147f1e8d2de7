import { adsFormInput } from "./ads-connect-form";

const credentials = JSON.stringify({ client_id: "c", client_secret: "s", refresh_token: "r" });

describe("adsFormInput", () => {
  it("sends customer ids as their digits and an empty manager id as null", () => {
    const form = adsFormInput({ customerId: "123-456-7890", loginCustomerId: "", developerToken: " dev-token ", credentials });
    expect(form).toEqual({
      ok: true,
      input: { customer_id: "1234567890", login_customer_id: null, developer_token: "dev-token", credentials: JSON.parse(credentials) },
    });
    expect(adsFormInput({ customerId: "1234567890", loginCustomerId: "999 888 7777", developerToken: "t", credentials })).toMatchObject({
      ok: true,
      input: { login_customer_id: "9998887777" },
    });
  });

  it("says which field is missing or malformed", () => {
    expect(adsFormInput({ customerId: "12345", loginCustomerId: "", developerToken: "t", credentials })).toMatchObject({ ok: false, error: expect.stringContaining("10 digits") });
    expect(adsFormInput({ customerId: "1234567890", loginCustomerId: "12", developerToken: "t", credentials })).toMatchObject({ ok: false, error: expect.stringContaining("login customer id") });
    expect(adsFormInput({ customerId: "1234567890", loginCustomerId: "", developerToken: "", credentials })).toEqual({ ok: false, error: "Enter the developer token." });
  });
});
