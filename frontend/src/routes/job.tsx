import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router";
import type { JobPublic } from "@/client";
import { JobActions } from "@/components/jobs/job-actions";
import { JobProgress } from "@/components/jobs/job-progress";
import { JobStatusBadge } from "@/components/jobs/job-status-badge";
import { JobTimeline, RetryChain } from "@/components/jobs/job-timeline";
import { jobResultLinks } from "@/components/jobs/result-links";
import { Badge } from "@/components/ui/badge";
import { buttonClass } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { PageHeader } from "@/components/ui/page-header";
import { ErrorState, LoadingState } from "@/components/ui/states";
import { useFlowerUrl } from "@/hooks/use-flower-url";
import { useJobTypes } from "@/hooks/use-job-types";
import { useJob } from "@/hooks/use-job";
import { flowerTaskUrl } from "@/lib/config";
import { durationBetween, formatDateTime, formatDuration, humanize } from "@/lib/format";
import { projectQueries } from "@/queries/projects";
import { JobPriorityBadge } from "@/components/jobs/job-priority-badge";

function SummaryValue({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="text-slate-400">—</span>;
  if (typeof value === "number") return <span className="tabular-nums">{new Intl.NumberFormat("en").format(value)}</span>;
  if (typeof value === "boolean") return <span>{value ? "Yes" : "No"}</span>;
  if (typeof value === "string") return <span className="break-all">{value}</span>;
  return (
    <pre className="max-h-48 overflow-auto rounded bg-slate-50 p-2 text-xs break-all whitespace-pre-wrap text-slate-700">
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

function KeyValues({ values }: { values: Record<string, unknown> }) {
  return (
    <dl className="grid gap-x-6 gap-y-3 sm:grid-cols-2">
      {Object.entries(values).map(([key, value]) => (
        <div key={key} className="min-w-0">
          <dt className="text-xs font-medium text-slate-500">{humanize(key)}</dt>
          <dd className="mt-0.5 text-sm text-slate-900">
            <SummaryValue value={value} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

function ResultSummary({ job }: { job: JobPublic }) {
  const link = jobResultLinks[job.job_type]?.(job) ?? null;
  const entries = Object.entries(job.result_json ?? {});
  return (
    <Card>
      <CardHeader
        title="Result"
        actions={
          link && (
            <Link to={link.to} className={buttonClass("primary", "sm")} data-testid="job-result-link">
              {link.label}
            </Link>
          )
        }
      />
      <CardBody>
        {entries.length === 0 ? (
          <p className="text-sm text-slate-500">
            {job.status === "completed" ? "This job recorded no result." : "The result appears when the job ends."}
          </p>
        ) : (
<KeyValues values={job.result_json ?? {}} />
        )}
      </CardBody>
    </Card>
  );
}

function ProjectCrumb({ projectId }: { projectId: string | null }) {
  const project = useQuery({ ...projectQueries.detail(projectId ?? ""), enabled: Boolean(projectId) });
  if (!projectId) return <span>System job</span>;
  return (
    <>
      <Link to="/" className="hover:text-slate-700">Projects</Link>
      {" / "}
      <Link to={`/projects/${projectId}`} className="hover:text-slate-700">
        {project.data?.name ?? "Project"}
      </Link>
    </>
  );
}

export function JobPage() {
  const { jobId = "" } = useParams();
  const live = useJob(jobId);
  const flowerUrl = useFlowerUrl();
  const { label } = useJobTypes();
  if (live.isPending) return <LoadingState />;
  if (!live.data) return <ErrorState error={live.error} onRetry={() => void live.refetch()} />;
  const job = live.data;
  const duration = durationBetween(job.started_at, job.finished_at);
  return (
    <>
      <PageHeader
        breadcrumb={<ProjectCrumb projectId={job.project_id} />}
        title={
          <span className="flex items-center gap-3">
            {label(job.job_type)} job <JobStatusBadge status={job.status} />
          </span>
        }
        subtitle={<span className="font-mono text-xs">{job.id}</span>}
        actions={
          <>
            <a href={flowerTaskUrl(flowerUrl, job.id)} target="_blank" rel="noreferrer" className={buttonClass("secondary")}>
              Open in Flower
            </a>
            <JobActions job={job} navigateOnRetry />
          </>
        }
      />
      <div className="grid gap-6 lg:grid-cols-3">
        <div className="space-y-6 lg:col-span-2">
          <Card>
            <CardHeader title="Progress" />
            <CardBody>
              <JobProgress job={job} />
              <dl className="mt-5 grid grid-cols-2 gap-4 text-sm sm:grid-cols-4">
                <div>
                  <dt className="text-xs text-slate-500">Attempts</dt>
                  <dd className="font-medium tabular-nums">{job.attempts} / {job.max_attempts}</dd>
                </div>
                <div>
                  <dt className="text-xs text-slate-500">Duration</dt>
                  <dd className="font-medium tabular-nums">{formatDuration(duration)}</dd>
                </div>
                <div>
                  <dt className="text-xs text-slate-500">Queue</dt>
                  <dd className="font-medium">{job.queue}</dd>
                </div>
                <div>
                  <dt className="text-xs text-slate-500">Priority</dt>
                  <dd>
                    <JobPriorityBadge priority={job.priority} />
                  </dd>
                </div>
                <div>
                  <dt className="text-xs text-slate-500">Updated</dt>
                  <dd className="font-medium">{formatDateTime(job.updated_at)}</dd>
                </div>
              </dl>
            </CardBody>
          </Card>
          {job.status === "cancelled" && (
            <Card role="region" aria-label="Cancelled">
              <CardBody className="text-sm text-slate-700">
                Cancelled{job.cancel_requested_at ? ` at ${formatDateTime(job.cancel_requested_at)}` : ""}.
                {job.result_json && " What it had done by then is kept below."}
              </CardBody>
            </Card>
          )}
          {job.status !== "cancelled" && (job.error_category || job.error_message) && (
            <Card className="ring-red-200" role="region" aria-label="Error">
              <CardHeader
                title="Error"
                actions={job.error_category && <Badge tone="red">{humanize(job.error_category)}</Badge>}
              />
              <CardBody>
                <p className="text-sm whitespace-pre-wrap text-slate-800" data-testid="job-error-message">
                  {job.error_message ?? "No message recorded."}
                </p>
              </CardBody>
            </Card>
          )}
          <ResultSummary job={job} />
        </div>
        <div className="space-y-6">
          <Card>
            <CardHeader title="Timeline" />
            <CardBody>
              <JobTimeline job={job} />
            </CardBody>
          </Card>
          {job.retry_of && (
            <Card>
              <CardHeader title="Earlier runs" description="This job retries them." />
              <CardBody>
                <ul className="space-y-2">
                  <RetryChain jobId={job.retry_of} />
                </ul>
              </CardBody>
            </Card>
          )}
          {Object.keys(job.config_json).length > 0 && (
            <Card>
              <CardHeader title="Settings" />
              <CardBody>
                <KeyValues values={job.config_json} />
              </CardBody>
            </Card>
          )}
        </div>
      </div>
    </>
  );
}
