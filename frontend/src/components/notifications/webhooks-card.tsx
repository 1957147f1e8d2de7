import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { NotificationEvent, ProjectPublic, WebhookPublic } from "@/client";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { CheckboxField, TextField } from "@/components/ui/form";
import { Pagination } from "@/components/ui/pagination";
import { EmptyState, QueryBoundary } from "@/components/ui/states";
import { Table, Td, Th, Tr } from "@/components/ui/table";
import { formatDateTime } from "@/lib/format";
import { toastSuccess, toastWarning } from "@/lib/toast";
import { notificationKeys, notificationMutations, notificationQueries } from "@/queries/notifications";
import { EVENTS, toggle } from "./events";

const LOG_PAGE = 20;
const STATUS_TONE = { delivered: "green", failed: "red", skipped: "gray", pending: "amber", sending: "blue" } as const;

function DeliveryLog({ webhook }: { webhook: WebhookPublic }) {
  const [offset, setOffset] = useState(0);
  const queryClient = useQueryClient();
  const log = useQuery(notificationQueries.deliveries(webhook.id, offset));
  const redeliver = useMutation({
    mutationFn: (deliveryId: string) => notificationMutations.redeliver(webhook.id, deliveryId),
    meta: { errorTitle: "Could not redeliver" },
    onSuccess: () => toastSuccess("Delivery queued again"),
    onSettled: () => queryClient.invalidateQueries({ queryKey: notificationKeys.all }),
  });
  return (
    <QueryBoundary
      query={log}
      isEmpty={(page) => page.count === 0}
      empty={<EmptyState title="No deliveries yet" description="Events this webhook subscribes to appear here." />}
    >
      {(page) => (
        <>
          <Table aria-label={`Deliveries to ${webhook.url}`}>
            <thead>
              <tr>
                <Th>When</Th>
                <Th>Event</Th>
                <Th>Status</Th>
                <Th className="text-right">Attempts</Th>
                <Th className="text-right">HTTP</Th>
                <Th className="text-right">Latency</Th>
                <Th>Answer</Th>
                <Th />
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {page.data.map((delivery) => (
                <Tr key={delivery.id} data-testid="delivery-row">
                  <Td className="whitespace-nowrap">{formatDateTime(delivery.created_at)}</Td>
                  <Td>{delivery.event_type}</Td>
                  <Td>
                    <Badge tone={STATUS_TONE[delivery.status]}>{delivery.status}</Badge>
                  </Td>
                  <Td className="text-right tabular-nums">{delivery.attempts}</Td>
                  <Td className="text-right tabular-nums">{delivery.last_status_code ?? "–"}</Td>
                  <Td className="text-right tabular-nums">
                    {delivery.last_latency_ms == null ? "–" : `${delivery.last_latency_ms} ms`}
                  </Td>
                  <Td className="max-w-xs truncate font-mono text-xs" title={delivery.response_excerpt ?? delivery.last_error ?? ""}>
                    {delivery.last_error ?? delivery.response_excerpt ?? ""}
                  </Td>
                  <Td>
                    {["delivered", "failed", "skipped"].includes(delivery.status) && (
                      <Button size="sm" variant="ghost" onClick={() => redeliver.mutate(delivery.id)}>
                        Redeliver
                      </Button>
                    )}
                  </Td>
                </Tr>
              ))}
            </tbody>
          </Table>
          <Pagination offset={offset} limit={LOG_PAGE} count={page.count} onChange={setOffset} />
        </>
      )}
    </QueryBoundary>
  );
}

function WebhookRow({ webhook }: { webhook: WebhookPublic }) {
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const settle = () => queryClient.invalidateQueries({ queryKey: notificationKeys.all });
  const test = useMutation({
    mutationFn: () => notificationMutations.testWebhook(webhook.id),
    meta: { errorTitle: "Could not send a test" },
    onSuccess: (result) => {
      const answer = result.response_excerpt ? `: ${result.response_excerpt.slice(0, 200)}` : "";
      if (result.ok) toastSuccess(`Receiver answered ${result.status_code}`, `${result.latency_ms} ms${answer}`);
      else toastWarning("The test was not accepted", `${result.detail}${answer}`);
    },
    onSettled: settle,
  });
  const update = useMutation({
    mutationFn: (body: Parameters<typeof notificationMutations.updateWebhook>[1]) =>
      notificationMutations.updateWebhook(webhook.id, body),
    meta: { errorTitle: "Could not update the webhook" },
    onSettled: settle,
  });
  const remove = useMutation({
    mutationFn: () => notificationMutations.deleteWebhook(webhook.id),
    meta: { errorTitle: "Could not delete the webhook" },
    onSettled: settle,
  });
  return (
    <li className="py-3" data-testid="webhook">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <div className="min-w-0">
          <p className="truncate font-mono text-sm text-slate-900">{webhook.url}</p>
          <p className="text-xs text-slate-500">{webhook.events.join(", ")}</p>
          {!webhook.enabled && (
            <p className="text-xs text-red-700">Disabled: {webhook.disabled_reason ?? "by its owner"}</p>
          )}
        </div>
        <div className="flex gap-2">
          <Button size="sm" variant="secondary" loading={test.isPending} onClick={() => test.mutate()}>
            Send a test
          </Button>
          <Button size="sm" variant="secondary" onClick={() => update.mutate({ enabled: !webhook.enabled })}>
            {webhook.enabled ? "Disable" : "Enable"}
          </Button>
          <Button size="sm" variant="ghost" onClick={() => setOpen(!open)} aria-expanded={open}>
            {open ? "Hide log" : "Delivery log"}
          </Button>
          <Button size="sm" variant="danger" loading={remove.isPending} onClick={() => remove.mutate()}>
            Delete
          </Button>
        </div>
      </div>
      {open && (
        <div className="mt-3 rounded-md ring-1 ring-slate-200">
          <DeliveryLog webhook={webhook} />
        </div>
      )}
    </li>
  );
}

function NewWebhookForm({ project }: { project: ProjectPublic }) {
  const queryClient = useQueryClient();
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<NotificationEvent[]>(["job.completed", "job.failed"]);
  const [secret, setSecret] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: () => notificationMutations.createWebhook(project.id, { url, events }),
    meta: { errorTitle: "Could not add the webhook" },
    onSuccess: (created) => {
      setSecret(created.secret);
      setUrl("");
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: notificationKeys.webhooks(project.id) }),
  });
  return (
    <form
      className="grid gap-3 border-t border-slate-100 pt-4"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <TextField label="Receiver URL" placeholder="https://example.com/hooks/seo" value={url} onChange={(e) => setUrl(e.target.value)} required />
      <div className="grid gap-2 sm:grid-cols-2">
        {EVENTS.map((event) => (
          <CheckboxField
            key={event.value}
            label={event.label}
            checked={events.includes(event.value)}
            onChange={(e) => setEvents(toggle(events, event.value, e.target.checked))}
          />
        ))}
      </div>
      <div>
        <Button type="submit" size="sm" loading={create.isPending} disabled={!url || events.length === 0}>
          Add webhook
        </Button>
      </div>
      {secret && (
        <div role="status" className="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900">
          <p className="font-medium">Signing secret (shown once, copy it now):</p>
          <code className="break-all" data-testid="webhook-secret">
            {secret}
          </code>
          <p className="mt-1 text-xs">
            Verify X-Seo-Platform-Signature (t=…,v1=…): HMAC-SHA256 of “t.body” with this secret; reject old timestamps.
          </p>
        </div>
      )}
    </form>
  );
}

export function WebhooksCard({ project }: { project: ProjectPublic }) {
  const webhooks = useQuery(notificationQueries.webhooks(project.id));
  return (
    <Card>
      <CardHeader title="Webhooks" description="Signed JSON posts to your systems when events happen." />
      <CardBody>
        <QueryBoundary query={webhooks}>
          {(list) => (
            <ul className="divide-y divide-slate-100">
              {list.data.map((webhook) => (
                <WebhookRow key={webhook.id} webhook={webhook} />
              ))}
            </ul>
          )}
        </QueryBoundary>
        <NewWebhookForm project={project} />
      </CardBody>
    </Card>
  );
}
