import type { JobPublic } from "@/client";

/** A queued Search Console sync of project p1, as the job API answers it; tests override
 * what they follow (status, progress, times). */
export function syncJob(overrides: Partial<JobPublic>): JobPublic {
  return {
    id: "6f1c7c4e-0000-4000-8000-000000000001",
    job_type: "gsc_sync",
    project_id: "p1",
    user_id: null,
    status: "queued",
    stage: "sync",
    queue: "default",
    priority: "interactive",
    progress_pct: 0,
    progress_message: null,
    progress_current: null,
    progress_total: null,
    attempts: 0,
    max_attempts: 4,
    queued_at: "2026-12-06T10:00:00Z",
    started_at: null,
    finished_at: null,
    heartbeat_at: null,
    lease_expires_at: null,
    cancel_requested_at: null,
    next_retry_at: null,
    updated_at: "2026-12-06T10:00:00Z",
    config_json: {},
    result_json: null,
    error_category: null,
    error_message: null,
    dedupe_key: null,
    retry_of: null,
    ...overrides,
  };
}
