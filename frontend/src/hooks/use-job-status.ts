import { useQuery, useQueryClient, type QueryClient, type QueryKey } from "@tanstack/react-query";
import { config } from "@/lib/config";
import { ApiError } from "@/lib/api";
import { isTerminal } from "@/lib/job-state";

/** What one poll learned: a new body with its ETag, or "unchanged" (HTTP 304). */
export type JobPoll<T> = { changed: true; job: T; etag: string | null } | { changed: false };

/** Reads a job's status, sending `etag` as If-None-Match when given. */
export type JobStatusFetcher<T> = (jobId: string, etag: string | null, signal: AbortSignal) => Promise<JobPoll<T>>;

/** Where a job's status comes from: its query key (defined once, with the resource's other
 * keys in src/queries) and the fetcher. */
export type JobStatusSource<T> = { queryKey: (jobId: string) => QueryKey; fetch: JobStatusFetcher<T> };

export type JobStatusOptions = {
  intervalMs?: number;
  /** Ceiling of the error backoff. */
  maxBackoffMs?: number;
  enabled?: boolean;
};

// Per-job poll memory: the last ETag and how many polls in a row failed.
type PollMemory = { etag: string | null; failures: number };
const memories = new WeakMap<QueryClient, Map<string, PollMemory>>();

function memoryFor(client: QueryClient, jobId: string): PollMemory {
  let byJob = memories.get(client);
  if (!byJob) memories.set(client, (byJob = new Map()));
  let memory = byJob.get(jobId);
  if (!memory) byJob.set(jobId, (memory = { etag: null, failures: 0 }));
  return memory;
}

/** Exponential backoff after `failures` failed polls in a row, capped. */
export function backoffDelay(failures: number, intervalMs: number, maxBackoffMs: number): number {
  if (failures <= 0) return intervalMs;
  return Math.min(intervalMs * 2 ** failures, maxBackoffMs);
}

/**
 * Polls a job every `intervalMs` while it is active, with If-None-Match so an unchanged job
 * costs an empty 304 (the cached job is kept). Stops at every terminal state (completed,
 * failed, cancelled) and on 404; backs off exponentially on errors; pauses while the tab is
 * hidden (TanStack Query's interval does not run in the background) and refreshes on return.
 */
export function useJobStatus<T extends { status: string }>(
  jobId: string | undefined,
  { queryKey, fetch: fetcher }: JobStatusSource<T>,
  { intervalMs = config.jobPollMs, maxBackoffMs = 30_000, enabled = true }: JobStatusOptions = {},
) {
  const queryClient = useQueryClient();
  return useQuery<T, Error>({
    queryKey: queryKey(jobId ?? ""),
    enabled: enabled && Boolean(jobId),
    retry: false,
    staleTime: 0,
    refetchIntervalInBackground: false,
    queryFn: async ({ signal }) => {
      const id = jobId!;
      const memory = memoryFor(queryClient, id);
      const cached = queryClient.getQueryData<T>(queryKey(id));
      try {
        const poll = await fetcher(id, cached ? memory.etag : null, signal);
        memory.failures = 0;
        if (poll.changed) {
          memory.etag = poll.etag;
          return poll.job;
        }
        if (cached) return cached;
        // A 304 with nothing cached cannot happen unless the cache was cleared: ask in full.
        memory.etag = null;
        const full = await fetcher(id, null, signal);
        if (!full.changed) throw new Error("The server answered 304 to a request without an ETag");
        memory.etag = full.etag;
        return full.job;
      } catch (error) {
        memory.failures += 1;
        throw error;
      }
    },
    refetchInterval: (query) => {
      const job = query.state.data;
      if (job && isTerminal(job.status)) return false;
      const error = query.state.error;
      if (error instanceof ApiError && (error.status === 404 || error.status === 403 || error.status === 401)) {
        return false;
      }
      const failures = jobId ? memoryFor(queryClient, jobId).failures : 0;
      return backoffDelay(failures, intervalMs, maxBackoffMs);
    },
  });
}
