import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { Link } from "react-router";
import type { JobPublic } from "@/client";
import { Table, Td, Th, Tr } from "@/components/ui/table";
import { useJob } from "@/hooks/use-job";
import { useJobTypes } from "@/hooks/use-job-types";
import { durationBetween, formatDateTime, formatDuration, formatRelative } from "@/lib/format";
import { isActive } from "@/lib/job-state";
import { auditKeys } from "@/queries/audits";
import { jobKeys } from "@/queries/jobs";
import { JobActions } from "./job-actions";
import { JobProgress } from "./job-progress";
import { JobStatusBadge } from "./job-status-badge";
import { JobPriorityBadge } from "@/components/jobs/job-priority-badge";
import { jobResultLinks } from "./result-links";
import { buttonClass } from "@/components/ui/button";

/** One row; an active job polls its own status (ETag, 304) so its bar moves between list
 * refreshes, and refreshes the lists once it ends. */
function JobRow({ listed, showProject }: { listed: JobPublic; showProject?: (job: JobPublic) => React.ReactNode }) {
  const live = useJob(listed.id, { enabled: isActive(listed.status) });
  const job = live.data && live.data.updated_at >= listed.updated_at ? live.data : listed;
  const queryClient = useQueryClient();
  const { label } = useJobTypes();
  const wasActive = useRef(isActive(listed.status));
  useEffect(() => {
    if (wasActive.current && !isActive(job.status)) {
      void queryClient.invalidateQueries({ queryKey: jobKeys.lists });
      void queryClient.invalidateQueries({ queryKey: auditKeys.all });
    }
    wasActive.current = isActive(job.status);
  }, [job.status, queryClient]);

  const duration = durationBetween(job.started_at, job.finished_at);
  const result = job.status === "completed" ? (jobResultLinks[job.job_type]?.(job) ?? null) : null;
  return (
    <Tr data-testid="job-row" data-job-id={job.id} data-status={job.status}>
      <Td className="whitespace-nowrap">
        <Link to={`/jobs/${job.id}`} className="font-medium text-slate-900 hover:text-brand-700 hover:underline">
          {label(job.job_type)}
        </Link>
        {showProject && <div className="text-xs text-slate-500">{showProject(job)}</div>}
      </Td>
      <Td>
        <div className="flex flex-wrap items-center gap-1">
          <JobStatusBadge status={job.status} />
          {job.priority !== "scheduled" && <JobPriorityBadge priority={job.priority} />}
        </div>
      </Td>
      <Td className="w-full min-w-56">
        <JobProgress job={job} compact />
      </Td>
      <Td className="whitespace-nowrap text-slate-500" title={formatDateTime(job.started_at ?? job.queued_at)}>
        {job.started_at ? formatRelative(job.started_at) : `queued ${formatRelative(job.queued_at)}`}
      </Td>
      <Td className="whitespace-nowrap tabular-nums text-slate-500">{formatDuration(duration)}</Td>
      <Td className="whitespace-nowrap tabular-nums text-slate-500">
        {job.attempts} / {job.max_attempts}
      </Td>
      <Td className="text-right">
        <div className="flex justify-end gap-2">
          {result && (
            <Link to={result.to} className={buttonClass("secondary", "sm")}>
              {result.label}
            </Link>
          )}
          <JobActions job={job} />
        </div>
      </Td>
    </Tr>
  );
}

export function JobsTable({
  jobs,
  showProject,
}: {
  jobs: JobPublic[];
  showProject?: (job: JobPublic) => React.ReactNode;
}) {
  return (
    <Table aria-label="Jobs">
      <thead>
        <tr>
          <Th>Type</Th>
          <Th>Status</Th>
          <Th>Progress</Th>
          <Th>Started</Th>
          <Th>Duration</Th>
          <Th>Attempts</Th>
          <Th>
            <span className="sr-only">Actions</span>
          </Th>
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100">
        {jobs.map((job) => (
          <JobRow key={job.id} listed={job} showProject={showProject} />
        ))}
      </tbody>
    </Table>
  );
}
