import { Badge, type Tone } from "@/components/ui/badge";
import { humanize } from "@/lib/format";

const tones: Record<string, Tone> = {
  queued: "gray",
  running: "blue",
  retrying: "amber",
  completed: "green",
  failed: "red",
  cancelled: "violet",
};

export function JobStatusBadge({ status }: { status: string }) {
  const live = status === "running" || status === "retrying";
  return (
    <Badge tone={tones[status] ?? "gray"} data-testid="job-status" data-status={status}>
      {live && (
        <span className="relative flex size-1.5" aria-hidden="true">
          <span className="absolute inline-flex size-full animate-ping rounded-full bg-current opacity-60" />
          <span className="relative inline-flex size-1.5 rounded-full bg-current" />
        </span>
      )}
      {humanize(status)}
    </Badge>
  );
}
