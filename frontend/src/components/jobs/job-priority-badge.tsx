import type { JobPriority } from "@/client";
import { Badge, type Tone } from "@/components/ui/badge";

export const JOB_PRIORITIES: readonly JobPriority[] = ["interactive", "scheduled", "bulk"];

export const priorityLabels: Record<JobPriority, string> = {
  interactive: "Interactive",
  scheduled: "Scheduled",
  bulk: "Bulk",
};

const priorityHints: Record<JobPriority, string> = {
  interactive: "Started by a person: taken before scheduled and bulk jobs",
  scheduled: "Started by the schedule: taken after interactive jobs",
  bulk: "Backfill, import or clean-up: taken last, with a guaranteed share",
};

const tones: Record<JobPriority, Tone> = { interactive: "blue", scheduled: "gray", bulk: "amber" };

export function JobPriorityBadge({ priority }: { priority: JobPriority }) {
  return (
    <Badge tone={tones[priority]} data-testid="job-priority" data-priority={priority}>
      <span title={priorityHints[priority]}>{priorityLabels[priority]}</span>
    </Badge>
  );
}
