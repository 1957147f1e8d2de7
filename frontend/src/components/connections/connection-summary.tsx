import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { formatDateTime } from "@/lib/format";
import type { ConnectionPublic } from "@/client";

/** What the API shows of a connection: its target, and "set on <date>, for <account>" (the
 * secret itself is write-only), with Disconnect. */
export function ConnectionSummary({
  connection,
  targetLabel,
  providerName,
  disconnect,
  onDisconnected,
}: {
  connection: ConnectionPublic;
  targetLabel: string;
  providerName: string;
  disconnect: () => Promise<unknown>;
  onDisconnected: () => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const remove = useMutation({
    mutationFn: disconnect,
    meta: { errorTitle: `Could not disconnect ${providerName}` },
    onSuccess: () => {
      setConfirming(false);
      onDisconnected();
    },
  });
  return (
    <div className="flex flex-wrap items-center justify-between gap-3 text-sm" data-testid="connection-summary">
      <p className="text-slate-600">
        {targetLabel} <strong className="font-medium text-slate-900">{connection.target}</strong> · set on{" "}
        {formatDateTime(connection.updated_at)}, for <span className="font-medium text-slate-900">{connection.account}</span>
      </p>
      <Button size="sm" variant="danger" onClick={() => setConfirming(true)}>
        Disconnect
      </Button>
      <Dialog open={confirming} onClose={() => setConfirming(false)} title={`Disconnect ${providerName}?`}>
        <p className="text-sm text-slate-600">
          The stored credentials are deleted and daily syncs stop. Data already synced stays.
        </p>
        <div className="mt-6 flex justify-end gap-2">
          <Button variant="secondary" onClick={() => setConfirming(false)}>
            Keep it
          </Button>
          <Button className="bg-red-600 text-white ring-0 hover:bg-red-700" loading={remove.isPending} onClick={() => remove.mutate()}>
            Disconnect
          </Button>
        </div>
      </Dialog>
    </div>
  );
}
