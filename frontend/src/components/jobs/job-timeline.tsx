import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import type { JobPublic } from "@/client";
import { cn } from "@/components/ui/cn";
import { formatDateTime, formatDuration, humanize } from "@/lib/format";
import { jobQueries } from "@/queries/jobs";
import { JobStatusBadge } from "./job-status-badge";

type Event = { at: string; label: string; detail?: string; tone: "gray" | "blue" | "amber" | "green" | "red" | "violet" };

const dot: Record<Event["tone"], string> = {
  gray: "bg-slate-400",
  blue: "bg-brand-500",
  amber: "bg-amber-500",
  green: "bg-emerald-500",
  red: "bg-red-500",
  violet: "bg-violet-500",
};

/** The states a job went through, from its timestamps. */
export function jobEvents(job: JobPublic): Event[] {
  const events: Event[] = [{ at: job.queued_at, label: "Queued", tone: "gray" }];
  if (job.started_at) {
    events.push({
      at: job.started_at,
      label: job.attempts > 1 ? `Started attempt ${job.attempts}` : "Started",
      detail: `attempt ${job.attempts} of ${job.max_attempts}`,
      tone: "blue",
    });
  }
  if (job.status === "retrying" && job.next_retry_at) {
    events.push({
      at: job.next_retry_at,
      label: "Retry scheduled",
      detail: job.error_message ? `after: ${job.error_message}` : undefined,
      tone: "amber",
    });
  }
  if (job.cancel_requested_at) events.push({ at: job.cancel_requested_at, label: "Cancel requested", tone: "violet" });
  if (job.finished_at) {
    const tone = job.status === "completed" ? "green" : job.status === "failed" ? "red" : "violet";
    const ran = job.started_at ? new Date(job.finished_at).getTime() - new Date(job.started_at).getTime() : null;
    events.push({
      at: job.finished_at,
      label: humanize(job.status),
      detail: ran != null ? `after ${formatDuration(ran)}` : undefined,
      tone,
    });
  }
  return events.sort((a, b) => a.at.localeCompare(b.at));
}

export function JobTimeline({ job }: { job: JobPublic }) {
  return (
    <ol className="relative space-y-4 border-l border-slate-200 pl-5" aria-label="Timeline">
      {jobEvents(job).map((event) => (
        <li key={`${event.label}-${event.at}`} className="relative">
          <span className={cn("absolute top-1.5 -left-[25px] size-2.5 rounded-full ring-4 ring-white", dot[event.tone])} aria-hidden="true" />
          <p className="text-sm font-medium text-slate-900">{event.label}</p>
          <p className="text-xs text-slate-500">
            <time dateTime={event.at}>{formatDateTime(event.at)}</time>
            {event.detail && <> · {event.detail}</>}
          </p>
        </li>
      ))}
      {job.heartbeat_at && job.status === "running" && (
        <li className="text-xs text-slate-500">Last heartbeat {formatDateTime(job.heartbeat_at)}</li>
      )}
    </ol>
  );
}

/** Earlier runs this job retried, newest first (follows retry_of a few steps). */
export function RetryChain({ jobId, depth = 0 }: { jobId: string; depth?: number }) {
  const previous = useQuery(jobQueries.snapshot(jobId));
  if (!previous.data) return null;
  const job = previous.data;
  return (
    <>
      <li className="flex flex-wrap items-center justify-between gap-2 rounded-md bg-slate-50 px-3 py-2 text-sm">
        <Link to={`/jobs/${job.id}`} className="font-medium text-slate-700 hover:text-brand-700 hover:underline">
          Earlier run · {formatDateTime(job.queued_at)}
        </Link>
        <span className="flex items-center gap-2">
          {job.error_category && <span className="text-xs text-slate-500">{humanize(job.error_category)}</span>}
          <JobStatusBadge status={job.status} />
        </span>
      </li>
      {job.retry_of && depth < 4 && <RetryChain jobId={job.retry_of} depth={depth + 1} />}
    </>
  );
}
