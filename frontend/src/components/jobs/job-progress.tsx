import type { JobPublic } from "@/client";
import { cn } from "@/components/ui/cn";
import { jobEta, type Eta } from "@/lib/eta";
import { formatDuration, formatNumber, humanize } from "@/lib/format";

const barColors: Record<string, string> = {
  queued: "bg-slate-300",
  running: "bg-brand-500",
  retrying: "bg-amber-400",
  completed: "bg-emerald-500",
  failed: "bg-red-400",
  cancelled: "bg-violet-300",
};

function EtaText({ eta }: { eta: Eta | null }) {
  if (eta === null) {
    return (
      <span className="whitespace-nowrap text-slate-400" data-testid="job-eta">
        estimating…
      </span>
    );
  }
  if (eta.seconds <= 0) return null;
  return (
    <span
      className="whitespace-nowrap tabular-nums"
      data-testid="job-eta"
      title={eta.until === "stage" ? "At the rate of this stage so far; later stages are not counted" : undefined}
    >
      ~{formatDuration(eta.seconds * 1000)} left{eta.until === "stage" && " in this stage"}
    </span>
  );
}

/** A progress bar that glides between polls (CSS transition) with the stage, the message,
 * the counters and, while it runs, an ETA from the current stage's observed rate. */
export function JobProgress({ job, compact = false }: { job: JobPublic; compact?: boolean }) {
  const pct = job.status === "completed" ? 100 : Math.max(0, Math.min(100, job.progress_pct));
  const eta = jobEta(job);
  // The message usually tells the counters in words ("Crawling 340 / 1,000 pages").
  const counted =
    !job.progress_message && job.progress_total != null && job.progress_total > 0 && job.progress_current != null;
  return (
    <div className={cn("min-w-40", compact ? "space-y-1" : "space-y-1.5")}>
      <div className="flex items-baseline justify-between gap-3 text-xs">
        <span className="truncate font-medium text-slate-700">
          {humanize(job.stage)}
          {counted && (
            <span className="font-normal text-slate-500">
              {" "}
              · {formatNumber(job.progress_current)} / {formatNumber(job.progress_total)}
            </span>
          )}
        </span>
        <span className="tabular-nums text-slate-500" data-testid="job-progress-pct">
          {Math.floor(pct)}%
        </span>
      </div>
      <div
        role="progressbar"
        aria-label={`${humanize(job.job_type)} progress`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.floor(pct)}
        aria-valuetext={job.progress_message ?? `${Math.floor(pct)}%`}
        className="h-2 w-full overflow-hidden rounded-full bg-slate-100"
      >
        <div
          className={cn(
            "h-full rounded-full transition-[width] duration-1000 ease-out",
            barColors[job.status] ?? "bg-slate-400",
            job.status === "running" && "bg-gradient-to-r from-brand-500 to-brand-600",
          )}
          style={{ width: `${pct}%` }}
        />
      </div>
      {(!compact || job.progress_message || eta !== undefined) && (
        <div className="flex justify-between gap-3 text-xs text-slate-500">
          <span className="truncate" title={job.progress_message ?? undefined}>
            {job.progress_message ?? "\u00a0"}
          </span>
          {eta !== undefined && <EtaText eta={eta} />}
        </div>
      )}
    </div>
  );
}
