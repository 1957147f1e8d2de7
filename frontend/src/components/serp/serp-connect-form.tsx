import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { ConnectionPublic, SerpConnectSerpData } from "@/client";
import { ConnectForm, type FormInput } from "@/components/connections/connect-form";
import { ConnectionSummary } from "@/components/connections/connection-summary";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { SelectField, TextField } from "@/components/ui/form";
import { ErrorState, LoadingState } from "@/components/ui/states";
import { toastSuccess } from "@/lib/toast";
import { serpKeys, serpMutations, serpQueries } from "@/queries/serp";

export type SerpConnectionInput = SerpConnectSerpData["body"];
export type SerpProvider = SerpConnectionInput["provider"];

export const SERP_PROVIDERS: { value: SerpProvider; label: string }[] = [
  { value: "serpapi", label: "SerpApi" },
  { value: "dataforseo", label: "DataForSEO" },
];

export function providerLabel(provider: string): string {
  return SERP_PROVIDERS.find((p) => p.value === provider)?.label ?? provider;
}

type Values = { provider: SerpProvider; apiKey: string; login: string; password: string };

/** The request body for the values typed, or what is still missing. */
export function serpFormInput(values: Values): FormInput<SerpConnectionInput> {
  if (values.provider === "serpapi") {
    const apiKey = values.apiKey.trim();
    if (apiKey.length < 8) return { ok: false, error: "Enter the SerpApi key (Dashboard → API key)." };
    return { ok: true, input: { provider: "serpapi", api_key: apiKey } };
  }
  const login = values.login.trim();
  if (!login || !values.password) return { ok: false, error: "Enter the DataForSEO API login and password." };
  return { ok: true, input: { provider: "dataforseo", login, password: values.password } };
}

/** SerpApi (an API key) or DataForSEO (API login and password): tested for free (searches
 * or balance left) before it is saved. */
export function SerpConnectForm({ projectId, onSaved }: { projectId: string; onSaved: (connection: ConnectionPublic) => void }) {
  const [values, setValues] = useState<Values>({ provider: "serpapi", apiKey: "", login: "", password: "" });
  const set = (name: keyof Values) => (value: string) => setValues((current) => ({ ...current, [name]: value }));
  return (
    <ConnectForm
      label="Connect a rank provider"
      form={serpFormInput(values)}
      test={(input) => serpMutations.testConnection(projectId, input)}
      save={(input) => serpMutations.connect(projectId, input)}
      choicesLabel="Choices"
      onChoose={() => undefined}
      onSaved={onSaved}
    >
      <SelectField
        label="Provider"
        value={values.provider}
        options={SERP_PROVIDERS}
        onChange={(event) => set("provider")(event.target.value)}
        className="max-w-xs"
      />
      {values.provider === "serpapi" ? (
        <TextField
          label="API key"
          type="password"
          autoComplete="off"
          value={values.apiKey}
          onChange={(event) => set("apiKey")(event.target.value)}
          hint="Each keyword check is one search of the account's plan."
        />
      ) : (
        <div className="grid gap-4 sm:grid-cols-2">
          <TextField label="API login" autoComplete="off" value={values.login} onChange={(event) => set("login")(event.target.value)} />
          <TextField
            label="API password"
            type="password"
            autoComplete="off"
            value={values.password}
            onChange={(event) => set("password")(event.target.value)}
            hint="From DataForSEO's API Access page, not the account's sign-in password."
          />
        </div>
      )}
    </ConnectForm>
  );
}

/** The project's rank provider: the connect form until one is set, then which provider and
 * account ("set on <date>, for <account>"; the secret is never shown), with Replace and
 * Disconnect. */
export function SerpConnectionCard({ projectId }: { projectId: string }) {
  const queryClient = useQueryClient();
  const connection = useQuery(serpQueries.connection(projectId));
  const [replacing, setReplacing] = useState(false);
  const refresh = () => void queryClient.invalidateQueries({ queryKey: serpKeys.all });
  const test = useMutation({
    mutationFn: () => serpMutations.testConnection(projectId),
    meta: { errorTitle: "Could not test the connection" },
  });
  const saved = (result: ConnectionPublic) => {
    toastSuccess("Rank provider connected", `${providerLabel(result.target)}, ${result.account}`);
    setReplacing(false);
    refresh();
  };
  return (
    <section aria-label="Rank provider">
      <Card>
        <CardHeader title="Rank provider" description="Where keyword positions are checked, chosen per project." />
        <CardBody className="space-y-4">
          {connection.isPending ? (
            <LoadingState />
          ) : connection.error ? (
            <ErrorState error={connection.error} onRetry={() => void connection.refetch()} />
          ) : connection.data && !replacing ? (
            <>
              <ConnectionSummary
                connection={{ ...connection.data, target: providerLabel(connection.data.target) }}
                targetLabel="Provider"
                providerName={providerLabel(connection.data.target)}
                disconnect={() => serpMutations.disconnect(projectId)}
                onDisconnected={() => {
                  toastSuccess("Rank provider disconnected");
                  refresh();
                }}
              />
              <div className="flex flex-wrap items-center gap-2">
                <Button size="sm" variant="secondary" loading={test.isPending} onClick={() => test.mutate()}>
                  Test connection
                </Button>
                <Button size="sm" variant="ghost" onClick={() => setReplacing(true)}>
                  Replace credentials
                </Button>
              </div>
              {test.data && (
                <p
                  role="status"
                  aria-label="Connection test"
                  data-ok={test.data.ok}
                  className={test.data.ok ? "text-sm text-emerald-800" : "text-sm text-red-800"}
                >
                  {test.data.ok ? "Connection works: " : "Connection failed: "}
                  {test.data.detail}
                </p>
              )}
            </>
          ) : (
            <>
              <p className="text-sm text-slate-600">Connect SerpApi or DataForSEO to check this project's keyword positions.</p>
              <SerpConnectForm projectId={projectId} onSaved={saved} />
              {replacing && (
                <Button size="sm" variant="ghost" onClick={() => setReplacing(false)}>
                  Keep the current credentials
                </Button>
              )}
            </>
          )}
        </CardBody>
      </Card>
    </section>
  );
}
