import type { ProjectPublic } from "@/client";
import { NotificationSettingsCard } from "./notification-settings-card";
import { WebhooksCard } from "./webhooks-card";

/** A project's notification settings: emails (events, recipients, the caller's mutes) and
 * webhooks with their delivery log. */
export function ProjectNotificationsPanel({ project }: { project: ProjectPublic }) {
  return (
    <div className="grid gap-6 2xl:grid-cols-2">
      <NotificationSettingsCard project={project} />
      <WebhooksCard project={project} />
    </div>
  );
}
