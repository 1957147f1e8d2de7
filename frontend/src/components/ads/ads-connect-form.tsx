import { useState } from "react";
import { ConnectForm, type FormInput } from "@/components/connections/connect-form";
import { CredentialsField } from "@/components/connections/credentials-field";
import { parseCredentials } from "@/components/connections/credentials";
import { TextField } from "@/components/ui/form";
import type { AdsConnectionCreate, ConnectionPublic } from "@/client";
import { adsMutations } from "@/queries/ads";

/** "123-456-7890" as Google Ads writes a customer id, sent as its digits. */
export function customerDigits(value: string): string {
  return value.replace(/[\s-]/g, "");
}

export function adsFormInput(values: { customerId: string; loginCustomerId: string; developerToken: string; credentials: string }): FormInput<AdsConnectionCreate> {
  const customer = customerDigits(values.customerId);
  const login = customerDigits(values.loginCustomerId);
  if (!/^\d{10}$/.test(customer)) return { ok: false, error: "The customer id has 10 digits (123-456-7890)." };
  if (login && !/^\d{10}$/.test(login)) return { ok: false, error: "The login customer id has 10 digits, or leave it empty." };
  if (!values.developerToken.trim()) return { ok: false, error: "Enter the developer token." };
  const parsed = parseCredentials(values.credentials);
  if (!parsed.ok) return { ok: false, error: values.credentials.trim() ? "" : parsed.error };
  return {
    ok: true,
    input: { customer_id: customer, login_customer_id: login || null, developer_token: values.developerToken.trim(), credentials: parsed.credentials },
  };
}

/** A Google Ads account: the customer, the manager account it is reached through (if any),
 * the developer token and the Google credential. */
export function AdsConnectForm({ projectId, onSaved }: { projectId: string; onSaved: (connection: ConnectionPublic) => void }) {
  const [values, setValues] = useState({ customerId: "", loginCustomerId: "", developerToken: "", credentials: "" });
  const set = (name: keyof typeof values) => (value: string) => setValues((current) => ({ ...current, [name]: value }));
  return (
    <ConnectForm
      label="Connect Google Ads"
      form={adsFormInput(values)}
      test={(input) => adsMutations.test(projectId, input)}
      save={(input) => adsMutations.connect(projectId, input)}
      choicesLabel="Accounts this credential can reach"
      onChoose={(choice) => set("customerId")(choice.replace(/^customers\//, ""))}
      onSaved={onSaved}
    >
      <div className="grid gap-4 sm:grid-cols-2">
        <TextField label="Customer id" value={values.customerId} onChange={(e) => set("customerId")(e.target.value)} placeholder="123-456-7890" autoComplete="off" inputMode="numeric" />
        <TextField
          label="Login customer id (optional)"
          value={values.loginCustomerId}
          onChange={(e) => set("loginCustomerId")(e.target.value)}
          placeholder="Manager account, if any"
          hint="The manager (MCC) account the credential signs in through."
          autoComplete="off"
          inputMode="numeric"
        />
      </div>
      <TextField label="Developer token" value={values.developerToken} onChange={(e) => set("developerToken")(e.target.value)} autoComplete="off" type="password" />
      <CredentialsField value={values.credentials} onChange={set("credentials")} />
    </ConnectForm>
  );
}
