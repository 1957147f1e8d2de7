import type { NotificationEvent } from "@/client";

/** The events people can subscribe to, in the contract's words, with a label each. */
export const EVENTS: { value: NotificationEvent; label: string }[] = [
  { value: "job.completed", label: "Job completed" },
  { value: "job.failed", label: "Job failed" },
  { value: "job.cancelled", label: "Job cancelled" },
  { value: "audit.finished", label: "Audit finished" },
  { value: "audit.new_errors", label: "Audit found new errors" },
  { value: "rank.dropped", label: "Rank dropped" },
  { value: "sync.failing", label: "Sync failing two days in a row" },
];

export function toggle<T>(list: T[], value: T, on: boolean): T[] {
  return on ? [...new Set([...list, value])] : list.filter((item) => item !== value);
}
