import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { UserNotificationSettingsPublic } from "@/client";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { CheckboxField, TextField } from "@/components/ui/form";
import { QueryBoundary } from "@/components/ui/states";
import { toastSuccess } from "@/lib/toast";
import { notificationKeys, notificationMutations, notificationQueries } from "@/queries/notifications";

function DigestForm({ current }: { current: UserNotificationSettingsPublic }) {
  const queryClient = useQueryClient();
  const [timezone, setTimezone] = useState(current.timezone);
  const save = useMutation({
    mutationFn: notificationMutations.updateMine,
    meta: { errorTitle: "Could not save the digest settings" },
    onSuccess: (saved) => {
      queryClient.setQueryData(notificationKeys.mine, saved);
      toastSuccess("Digest settings saved");
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: notificationKeys.mine }),
  });
  return (
    <form
      className="grid max-w-md gap-4"
      aria-label="Daily digest"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate({ timezone });
      }}
    >
      <CheckboxField
        label="Send me a daily digest"
        hint="At 07:00 in your time zone, when something happened in your projects."
        checked={current.digest_enabled}
        onChange={(e) => save.mutate({ digest_enabled: e.target.checked })}
      />
      <TextField
        label="Time zone"
        hint="An IANA name, e.g. Europe/Paris or America/New_York."
        value={timezone}
        onChange={(e) => setTimezone(e.target.value)}
      />
      <div>
        <Button type="submit" size="sm" loading={save.isPending}>
          Save time zone
        </Button>
      </div>
    </form>
  );
}

export function DigestSettingsCard() {
  const mine = useQuery(notificationQueries.mine());
  return (
    <Card>
      <CardHeader title="Daily digest" description="A summary of the last 24 hours of your projects." />
      <CardBody>
        <QueryBoundary query={mine}>{(current) => <DigestForm current={current} />}</QueryBoundary>
      </CardBody>
    </Card>
  );
}
