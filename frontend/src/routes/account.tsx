import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { useState } from "react";
import type { ApiTokenCreated, ApiTokenScope } from "@/client";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { SelectField, TextField } from "@/components/ui/form";
import { EmptyState, QueryBoundary } from "@/components/ui/states";
import { Table, Td, Th, Tr } from "@/components/ui/table";
import { formatDateTime } from "@/lib/format";
import { toastError, toastSuccess } from "@/lib/toast";
import { userKeys, userMutations, userQueries } from "@/queries/users";
import { PageHeader } from "@/components/ui/page-header";
import { DigestSettingsCard } from "@/components/notifications/digest-settings-card";

const SCOPES = [
  { value: "read", label: "Read only" },
  { value: "write", label: "Read and write" },
];

function PasswordCard() {
  const change = useMutation({
    mutationFn: userMutations.changePassword,
    onSuccess: () => toastSuccess("Password changed", "Every other session was signed out."),
    onError: (error) => toastError(error, "Could not change the password"),
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    change.mutate(
      {
        current_password: String(data.get("current_password")),
        new_password: String(data.get("new_password")),
      },
      { onSuccess: () => form.reset() },
    );
  };
  return (
    <Card>
      <CardHeader
        title="Password"
        description="Changing it signs out every other session and login token."
      />
      <CardBody>
        <form onSubmit={submit} className="grid max-w-md gap-4" aria-label="Change password">
          <TextField
            label="Current password"
            name="current_password"
            type="password"
            autoComplete="current-password"
            required
          />
          <TextField
            label="New password"
            name="new_password"
            type="password"
            autoComplete="new-password"
            minLength={8}
            required
          />
          <div>
            <Button type="submit" disabled={change.isPending}>
              Change password
            </Button>
          </div>
        </form>
      </CardBody>
    </Card>
  );
}

function NewTokenNotice({ token, onDone }: { token: ApiTokenCreated; onDone: () => void }) {
  return (
    <div role="status" className="rounded-md bg-emerald-50 p-4 text-sm ring-1 ring-emerald-600/20">
      <p className="font-medium text-emerald-800">
        Copy the token “{token.name}” now: it is not shown again.
      </p>
      <code
        data-testid="new-token"
        className="mt-2 block break-all rounded bg-white px-3 py-2 font-mono text-slate-900 ring-1 ring-slate-200"
      >
        {token.token}
      </code>
      <p className="mt-2 text-emerald-800">
        Send it as <code>Authorization: Bearer …</code> to the API.
      </p>
      <div className="mt-3 flex gap-2">
        <Button
          size="sm"
          variant="secondary"
          onClick={() => void navigator.clipboard?.writeText(token.token)}
        >
          Copy
        </Button>
        <Button size="sm" variant="ghost" onClick={onDone}>
          Done
        </Button>
      </div>
    </div>
  );
}

function TokensCard() {
  const queryClient = useQueryClient();
  const tokens = useQuery(userQueries.tokens());
  const [created, setCreated] = useState<ApiTokenCreated | null>(null);
  const invalidate = () => queryClient.invalidateQueries({ queryKey: userKeys.tokens });
  const create = useMutation({
    mutationFn: userMutations.createToken,
    onSuccess: (token) => setCreated(token),
    onError: (error) => toastError(error, "Could not create the token"),
    onSettled: invalidate,
  });
  const revoke = useMutation({
    mutationFn: userMutations.revokeToken,
    onSuccess: () => toastSuccess("Token revoked"),
    onError: (error) => toastError(error, "Could not revoke the token"),
    onSettled: invalidate,
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    create.mutate(
      { name: String(data.get("name")), scope: String(data.get("scope")) as ApiTokenScope },
      { onSuccess: () => form.reset() },
    );
  };
  return (
    <Card>
      <CardHeader
        title="API tokens"
        description="Personal tokens for scripts that call the REST API. Read-only tokens cannot change anything."
      />
      <CardBody className="space-y-4">
        <form
          onSubmit={submit}
          className="flex flex-wrap items-end gap-3"
          aria-label="Create API token"
        >
          <TextField label="Name" name="name" required maxLength={100} className="w-64" />
          <SelectField label="Scope" name="scope" options={SCOPES} defaultValue="read" />
          <Button type="submit" disabled={create.isPending}>
            Create token
          </Button>
        </form>
        {created && <NewTokenNotice token={created} onDone={() => setCreated(null)} />}
      </CardBody>
      <QueryBoundary
        query={tokens}
        isEmpty={(data) => data.count === 0}
        empty={<EmptyState title="No API tokens" description="Create one for a script." />}
      >
        {(data) => (
          <Table aria-label="API tokens">
            <thead>
              <tr>
                <Th>Name</Th>
                <Th>Scope</Th>
                <Th>Token</Th>
                <Th>Created</Th>
                <Th>Last used</Th>
                <Th>
                  <span className="sr-only">Actions</span>
                </Th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {data.data.map((token) => (
                <Tr key={token.id} data-testid="token-row">
                  <Td className="font-medium">{token.name}</Td>
                  <Td>
                    <Badge tone={token.scope === "write" ? "amber" : "gray"}>
                      {token.scope === "write" ? "read and write" : "read only"}
                    </Badge>
                  </Td>
                  <Td className="font-mono text-xs">{token.prefix}…</Td>
                  <Td>{formatDateTime(token.created_at)}</Td>
                  <Td>{token.last_used_at ? formatDateTime(token.last_used_at) : "never"}</Td>
                  <Td className="text-right">
                    <Button
                      size="sm"
                      variant="danger"
                      disabled={revoke.isPending}
                      onClick={() => revoke.mutate(token.id)}
                      aria-label={`Revoke ${token.name}`}
                    >
                      Revoke
                    </Button>
                  </Td>
                </Tr>
              ))}
            </tbody>
          </Table>
        )}
      </QueryBoundary>
    </Card>
  );
}

export function AccountPage() {
  return (
    <>
      <PageHeader title="Account" subtitle="Your password, personal API tokens and daily digest." />
      <div className="space-y-6">
        <PasswordCard />
        <TokensCard />
        <DigestSettingsCard />
      </div>
    </>
  );
}
