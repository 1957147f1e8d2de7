import { keepPreviousData, queryOptions } from "@tanstack/react-query";
import {
  jobsCancelJob,
  jobsListJobs,
  jobsListJobTypes,
  jobsListProjectJobs,
  jobsReadJob,
  jobsReadJobStats,
  jobsRetryFailedJobs,
  jobsRetryJob,
  jobsStartCleanup,
  jobsStartHealthCheck,
  jobsStartOptimizeDb,
} from "@/client";
import type { JobPublic, JobStatus, JobType } from "@/client";
import type { JobStatusFetcher, JobStatusSource } from "@/hooks/use-job-status";
import { unwrap } from "@/lib/api";
import { isActive } from "@/lib/job-state";

export type JobFilters = {
  status?: JobStatus[];
  jobType?: JobType[];
  offset?: number;
  limit?: number;
};

export const jobKeys = {
  all: ["jobs"] as const,
  lists: ["jobs", "list"] as const,
  projectList: (projectId: string, filters: JobFilters) => ["jobs", "list", "project", projectId, filters] as const,
  list: (filters: JobFilters & { projectId?: string }) => ["jobs", "list", "all", filters] as const,
  /** The live job (useJob polls it); the snapshot is a one-off read of an earlier run. */
  detail: (id: string) => ["jobs", "detail", id] as const,
  snapshot: (id: string) => ["jobs", "detail", id, "snapshot"] as const,
  stats: (windowHours: number, projectId?: string) => ["jobs", "stats", windowHours, projectId ?? null] as const,
  types: ["jobs", "types"] as const,
};

/** While a list shows an active job, refresh it so new states and jobs appear. */
const refreshWhileActive = (data: { data: JobPublic[] } | undefined) =>
  data?.data.some((job) => isActive(job.status)) ? 5000 : false;

export const jobQueries = {
  project: (projectId: string, filters: JobFilters = {}) =>
    queryOptions({
      queryKey: jobKeys.projectList(projectId, filters),
      queryFn: () =>
        unwrap(
          jobsListProjectJobs({
            path: { project_id: projectId },
            query: {
              status: filters.status,
              job_type: filters.jobType,
              offset: filters.offset ?? 0,
              limit: filters.limit ?? 20,
            },
          }),
        ),
      placeholderData: keepPreviousData,
      refetchInterval: (query) => refreshWhileActive(query.state.data),
    }),
  list: (filters: JobFilters & { projectId?: string } = {}) =>
    queryOptions({
      queryKey: jobKeys.list(filters),
      queryFn: () =>
        unwrap(
          jobsListJobs({
            query: {
              project_id: filters.projectId,
              status: filters.status,
              job_type: filters.jobType,
              offset: filters.offset ?? 0,
              limit: filters.limit ?? 20,
            },
          }),
        ),
      placeholderData: keepPreviousData,
      refetchInterval: (query) => refreshWhileActive(query.state.data),
    }),
  /** A job read once (an earlier run in a retry chain): no polling. */
  snapshot: (jobId: string) =>
    queryOptions({
      queryKey: jobKeys.snapshot(jobId),
      queryFn: async ({ signal }) => {
        const poll = await fetchJobStatus(jobId, null, signal);
        if (!poll.changed) throw new Error("unexpected 304");
        return poll.job;
      },
      staleTime: 60_000,
    }),
  /** Every job type with its label and whether it can run yet; changes only with a deploy. */
  types: () =>
    queryOptions({
      queryKey: jobKeys.types,
      queryFn: () => unwrap(jobsListJobTypes()),
      staleTime: 10 * 60_000,
    }),
  stats: (windowHours = 24, projectId?: string) =>
    queryOptions({
      queryKey: jobKeys.stats(windowHours, projectId),
      queryFn: () => unwrap(jobsReadJobStats({ query: { window_hours: windowHours, project_id: projectId } })),
      refetchInterval: 5000,
    }),
};

/** GET /jobs/{id} with If-None-Match; a 304 means "unchanged". Used by useJobStatus. */
export const fetchJobStatus: JobStatusFetcher<JobPublic> = async (jobId, etag, signal) => {
  const result = await jobsReadJob({
    path: { job_id: jobId },
    headers: etag ? { "If-None-Match": etag } : undefined,
    // Our own If-None-Match, not the browser cache's: a 304 then reaches this code as is.
    cache: "no-store",
    signal,
  });
  if (result.response?.status === 304) return { changed: false };
  const job = await unwrap(Promise.resolve(result));
  return { changed: true, job, etag: result.response?.headers.get("ETag") ?? null };
};

/** The live job: polled by useJob under the one detail key. */
export const jobStatusSource: JobStatusSource<JobPublic> = { queryKey: jobKeys.detail, fetch: fetchJobStatus };

export const jobMutations = {
  cancel: (jobId: string) => unwrap(jobsCancelJob({ path: { job_id: jobId } })),
  retry: (jobId: string) => unwrap(jobsRetryJob({ path: { job_id: jobId } })),
  retryFailed: (params: { projectId?: string; jobType?: JobType } = {}) =>
    unwrap(jobsRetryFailedJobs({ query: { project_id: params.projectId, job_type: params.jobType } })),
  startHealthCheck: () => unwrap(jobsStartHealthCheck()),
  startCleanup: () => unwrap(jobsStartCleanup()),
  startOptimizeDb: () => unwrap(jobsStartOptimizeDb()),
};
