/** The job state machine as the dashboard sees it (docs/architecture.md): three states are terminal. */
export const JOB_STATUSES = ["queued", "running", "retrying", "completed", "failed", "cancelled"] as const;
export type JobStatusName = (typeof JOB_STATUSES)[number];


export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(["completed", "failed", "cancelled"]);
export const ACTIVE_STATUSES: ReadonlySet<string> = new Set(["queued", "running", "retrying"]);

export function isTerminal(status: string | undefined): boolean {
  return status !== undefined && TERMINAL_STATUSES.has(status);
}

export function isActive(status: string | undefined): boolean {
  return status !== undefined && ACTIVE_STATUSES.has(status);
}
