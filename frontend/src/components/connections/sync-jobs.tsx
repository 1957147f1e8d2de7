import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { Link } from "react-router";
import type { JobPublic, JobType } from "@/client";
import { JobProgress } from "@/components/jobs/job-progress";
import { JobStatusBadge } from "@/components/jobs/job-status-badge";
import { Button } from "@/components/ui/button";
import { useJob } from "@/hooks/use-job";
import { useJobTypes } from "@/hooks/use-job-types";
import { formatRelative } from "@/lib/format";
import { isActive, isTerminal } from "@/lib/job-state";
import { toastSuccess } from "@/lib/toast";
import { jobKeys, jobQueries } from "@/queries/jobs";

export type SyncAction = { key: string; label: string; jobType: JobType; start: () => Promise<JobPublic> };

/** The project's latest job of these types, followed live (the job views' progress bar and
 * status), with the buttons that start them. When a followed job ends, `onFinished` runs (the
 * caller refreshes its data). */
export function SyncJobs({
  projectId,
  actions,
  onFinished,
  pollMs,
}: {
  projectId: string;
  actions: SyncAction[];
  onFinished: (job: JobPublic) => void;
  /** How often the followed job is polled (the job views' default unless given). */
  pollMs?: number;
}) {
  const queryClient = useQueryClient();
  const { label } = useJobTypes();
  const jobTypes = actions.map((action) => action.jobType);
  const latest = useQuery(jobQueries.project(projectId, { jobType: jobTypes, limit: 1 }));
  const [startedId, setStartedId] = useState<string | null>(null);
  const jobId = startedId ?? latest.data?.data[0]?.id;
  const job = useJob(jobId, pollMs ? { intervalMs: pollMs } : undefined).data;

  // Refresh the data once, when a job seen running (or just started here) reaches its end.
  const watched = useRef(new Set<string>());
  const reported = useRef(new Set<string>());
  useEffect(() => {
    if (!job) return;
    if (isActive(job.status) || job.id === startedId) watched.current.add(job.id);
    if (isTerminal(job.status) && watched.current.has(job.id) && !reported.current.has(job.id)) {
      reported.current.add(job.id);
      onFinished(job);
      void queryClient.invalidateQueries({ queryKey: jobKeys.all });
    }
  }, [job, startedId, onFinished, queryClient]);

  const start = useMutation({
    mutationFn: (action: SyncAction) => action.start(),
    meta: { errorTitle: "Could not start the job" },
    onSuccess: (started) => {
      setStartedId(started.id);
      toastSuccess(`${label(started.job_type)} started`, "Its progress shows here and in the jobs table.");
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: jobKeys.all }),
  });
  const running = job !== undefined && isActive(job.status);
  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-center gap-2">
        {actions.map((action, index) => (
          <Button
            key={action.key}
            variant={index === 0 ? "primary" : "secondary"}
            size="sm"
            disabled={running}
            loading={start.isPending && start.variables?.key === action.key}
            onClick={() => start.mutate(action)}
          >
            {action.label}
          </Button>
        ))}
      </div>
      {job && (
        <div className="rounded-lg bg-slate-50 px-4 py-3 ring-1 ring-slate-200" data-testid="sync-job" data-status={job.status} aria-live="polite">
          <div className="mb-2 flex flex-wrap items-center justify-between gap-2 text-sm">
            <span className="flex items-center gap-2">
              <Link to={`/jobs/${job.id}`} className="font-medium text-slate-900 hover:text-brand-700 hover:underline">
                {label(job.job_type)}
              </Link>
              <JobStatusBadge status={job.status} />
            </span>
            <span className="text-xs text-slate-500">
              {job.finished_at ? `finished ${formatRelative(job.finished_at)}` : `started ${formatRelative(job.started_at ?? job.queued_at)}`}
            </span>
          </div>
          <JobProgress job={job} compact />
          {job.status === "failed" && job.error_message && (
            <p role="alert" className="mt-2 text-sm text-red-700">
              {job.error_message}
            </p>
          )}
        </div>
      )}
    </div>
  );
}
