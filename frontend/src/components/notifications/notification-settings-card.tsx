import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { NotificationSettingsPublic, ProjectPublic } from "@/client";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { CheckboxField, TextField } from "@/components/ui/form";
import { QueryBoundary } from "@/components/ui/states";
import { toastSuccess, toastWarning } from "@/lib/toast";
import { notificationKeys, notificationMutations, notificationQueries } from "@/queries/notifications";
import { EVENTS, toggle } from "./events";

function SettingsForm({ project, settings }: { project: ProjectPublic; settings: NotificationSettingsPublic }) {
  const queryClient = useQueryClient();
  const [recipients, setRecipients] = useState(settings.recipients.map((r) => r.email).join(", "));
  const save = useMutation({
    mutationFn: (body: Parameters<typeof notificationMutations.updateSettings>[1]) =>
      notificationMutations.updateSettings(project.id, body),
    meta: { errorTitle: "Could not save the notification settings" },
    onSuccess: (saved) => queryClient.setQueryData(notificationKeys.settings(project.id), saved),
    onSettled: () => queryClient.invalidateQueries({ queryKey: notificationKeys.settings(project.id) }),
  });
  const test = useMutation({
    mutationFn: () => notificationMutations.testEmail(project.id),
    meta: { errorTitle: "Could not send a test email" },
    onSuccess: (result) =>
      result.ok ? toastSuccess("Test email sent", result.detail) : toastWarning("Test email not sent", result.detail),
    onSettled: () => queryClient.invalidateQueries({ queryKey: notificationKeys.all }),
  });
  return (
    <div className="grid gap-5">
      {!settings.email_configured && (
        <p role="status" className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-800">
          No SMTP server is configured: emails are skipped (shown as skipped below) until the operator sets SMTP_HOST.
        </p>
      )}
      <fieldset>
        <legend className="text-sm font-semibold text-slate-900">Email me when</legend>
        <div className="mt-2 grid gap-2 sm:grid-cols-2">
          {EVENTS.map((event) => (
            <CheckboxField
              key={event.value}
              label={event.label}
              checked={settings.email_events.includes(event.value)}
              onChange={(e) => save.mutate({ email_events: toggle(settings.email_events, event.value, e.target.checked) })}
            />
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend className="text-sm font-semibold text-slate-900">For me only</legend>
        <div className="mt-2 grid gap-2">
          <CheckboxField
            label="Mute this project"
            hint="You receive none of its emails; other recipients still do."
            checked={settings.muted}
            onChange={(e) => save.mutate({ muted: e.target.checked })}
          />
          <div className="grid gap-2 sm:grid-cols-2">
            {EVENTS.map((event) => (
              <CheckboxField
                key={event.value}
                label={`Mute “${event.label}”`}
                checked={settings.muted_events.includes(event.value)}
                onChange={(e) => save.mutate({ muted_events: toggle(settings.muted_events, event.value, e.target.checked) })}
              />
            ))}
          </div>
        </div>
      </fieldset>
      <form
        className="grid gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          const emails = recipients.split(/[\s,;]+/).filter(Boolean);
          save.mutate({ recipients: emails }, { onSuccess: () => toastSuccess("Recipients saved", "New addresses get a confirmation link first.") });
        }}
      >
        <TextField
          label="Other recipients"
          hint="Comma-separated. Each address receives nothing until it confirms the link we send it."
          value={recipients}
          onChange={(e) => setRecipients(e.target.value)}
        />
        <div className="flex flex-wrap gap-2">
          {settings.recipients.map((r) => (
            <Badge key={r.email} tone={r.unsubscribed ? "gray" : r.confirmed ? "green" : "amber"}>
              {r.email}: {r.unsubscribed ? "unsubscribed" : r.confirmed ? "confirmed" : "waiting for confirmation"}
            </Badge>
          ))}
        </div>
        <div className="flex gap-2">
          <Button type="submit" size="sm" loading={save.isPending}>
            Save recipients
          </Button>
          <Button type="button" size="sm" variant="secondary" loading={test.isPending} onClick={() => test.mutate()}>
            Send me a test email
          </Button>
        </div>
      </form>
    </div>
  );
}

export function NotificationSettingsCard({ project }: { project: ProjectPublic }) {
  const settings = useQuery(notificationQueries.settings(project.id));
  return (
    <Card>
      <CardHeader title="Email notifications" description="Who hears about this project's jobs and audits." />
      <CardBody>
        <QueryBoundary query={settings}>{(data) => <SettingsForm project={project} settings={data} />}</QueryBoundary>
      </CardBody>
    </Card>
  );
}
