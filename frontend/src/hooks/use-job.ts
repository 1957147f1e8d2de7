import type { JobPublic } from "@/client";
import { jobStatusSource } from "@/queries/jobs";
import { useJobStatus, type JobStatusOptions } from "./use-job-status";

/** A job's live status from the API (see useJobStatus). */
export function useJob(jobId: string | undefined, options?: JobStatusOptions) {
  return useJobStatus<JobPublic>(jobId, jobStatusSource, options);
}
