import { useQueryClient, type QueryKey, type UseQueryResult } from "@tanstack/react-query";
import { useCallback, type ReactNode } from "react";
import type { ConnectionPublic } from "@/client";
import { ConnectionSummary } from "@/components/connections/connection-summary";
import { SyncJobs, type SyncAction } from "@/components/connections/sync-jobs";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { ErrorState, LoadingState } from "@/components/ui/states";
import { toastSuccess } from "@/lib/toast";

/** What a synced integration's panel needs to know of its provider: its name for people,
 * what its target is called, how to disconnect, and which cached queries to refresh. */
export type SyncedProvider = {
  name: string;
  targetLabel: string;
  disconnect: () => Promise<unknown>;
  /** Everything cached of the provider for the project: refreshed on connect and disconnect. */
  projectKey: QueryKey;
  /** The synced data: refreshed when a sync job ends. */
  dataKey: QueryKey;
};

/** The connection ("Property x · set on ..., for ...", Disconnect) and the sync jobs with
 * the buttons that start them; the synced data is refreshed when a followed job ends. */
export function ConnectionSyncSection({
  projectId,
  connection,
  provider,
  actions,
  pollMs,
}: {
  projectId: string;
  connection: ConnectionPublic;
  provider: SyncedProvider;
  actions: SyncAction[];
  pollMs?: number;
}) {
  const queryClient = useQueryClient();
  const { dataKey, projectKey, name } = provider;
  const refresh = useCallback(() => void queryClient.invalidateQueries({ queryKey: dataKey }), [queryClient, dataKey]);
  return (
    <CardBody className="space-y-4 border-b border-slate-100">
      <ConnectionSummary
        connection={connection}
        targetLabel={provider.targetLabel}
        providerName={name}
        disconnect={provider.disconnect}
        onDisconnected={() => {
          toastSuccess(`${name} disconnected`);
          void queryClient.invalidateQueries({ queryKey: projectKey });
        }}
      />
      <SyncJobs projectId={projectId} actions={actions} onFinished={refresh} pollMs={pollMs} />
    </CardBody>
  );
}

/** A synced integration's card: loading, an error to retry, the connect form (with its
 * introduction) until the project is connected, then what `children` shows of it. */
export function ProviderPanel({
  label,
  title,
  description,
  provider,
  connection,
  intro,
  connectForm,
  children,
}: {
  label: string;
  title: string;
  description: string;
  provider: SyncedProvider;
  /** The project's connection: null when none is set. */
  connection: UseQueryResult<ConnectionPublic | null>;
  intro: ReactNode;
  connectForm: (onSaved: (saved: ConnectionPublic) => void) => ReactNode;
  children: (connection: ConnectionPublic) => ReactNode;
}) {
  const queryClient = useQueryClient();
  const onSaved = (saved: ConnectionPublic) => {
    toastSuccess(`${provider.name} connected`, saved.target);
    void queryClient.invalidateQueries({ queryKey: provider.projectKey });
  };
  return (
    <section aria-label={label}>
      <Card>
        <CardHeader title={title} description={description} />
        {connection.isPending ? (
          <LoadingState />
        ) : connection.error ? (
          <ErrorState error={connection.error} onRetry={() => void connection.refetch()} />
        ) : connection.data ? (
          children(connection.data)
        ) : (
          <CardBody>
            <p className="mb-4 text-sm text-slate-600">{intro}</p>
            {connectForm(onSaved)}
          </CardBody>
        )}
      </Card>
    </section>
  );
}
