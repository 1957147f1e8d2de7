import { useState } from "react";
import { ConnectForm, type FormInput } from "@/components/connections/connect-form";
import { CredentialsField } from "@/components/connections/credentials-field";
import { parseCredentials } from "@/components/connections/credentials";
import { TextField } from "@/components/ui/form";
import type { ConnectionPublic, GscConnectionCreate } from "@/client";
import { gscMutations } from "@/queries/gsc";

/** A Search Console property and the Google credential that reads it. */
export function GscConnectForm({ projectId, onSaved }: { projectId: string; onSaved: (connection: ConnectionPublic) => void }) {
  const [property, setProperty] = useState("");
  const [credentials, setCredentials] = useState("");
  const parsed = parseCredentials(credentials);
  const form: FormInput<GscConnectionCreate> = !property.trim()
    ? { ok: false, error: "Enter the property." }
    : parsed.ok
      ? { ok: true, input: { property: property.trim(), credentials: parsed.credentials } }
      : { ok: false, error: credentials.trim() ? "" : parsed.error };
  return (
    <ConnectForm
      label="Connect Search Console"
      form={form}
      test={(input) => gscMutations.test(projectId, input)}
      save={(input) => gscMutations.connect(projectId, input)}
      choicesLabel="Properties this credential can see"
      onChoose={setProperty}
      onSaved={onSaved}
    >
      <TextField
        label="Property"
        value={property}
        onChange={(event) => setProperty(event.target.value)}
        placeholder="sc-domain:example.com"
        hint="A domain property (sc-domain:example.com) or a URL prefix exactly as in Search Console (https://www.example.com/)."
        autoComplete="off"
      />
      <CredentialsField value={credentials} onChange={setCredentials} />
    </ConnectForm>
  );
}
