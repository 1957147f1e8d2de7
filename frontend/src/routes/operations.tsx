import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, Navigate } from "react-router";
import type { JobStatsPublic, JobType, ProjectPublic } from "@/client";
import { Chart } from "@/components/charts/chart";
import { statusColors } from "@/components/charts/palette";
import { useJobTypeOptions } from "@/components/jobs/job-filters";
import { JOB_PRIORITIES, JobPriorityBadge } from "@/components/jobs/job-priority-badge";
import { JobsTable } from "@/components/jobs/jobs-table";
import { maintenanceStarters } from "@/components/jobs/starters";
import { Badge } from "@/components/ui/badge";
import { Button, buttonClass } from "@/components/ui/button";
import { Card, CardBody, CardHeader, Stat } from "@/components/ui/card";
import { SelectField } from "@/components/ui/form";
import { PageHeader } from "@/components/ui/page-header";
import { Pagination } from "@/components/ui/pagination";
import { EmptyState, QueryBoundary } from "@/components/ui/states";
import { Table, Td, Th, Tr } from "@/components/ui/table";
import { useCurrentUser } from "@/hooks/use-current-user";
import { useFlowerUrl } from "@/hooks/use-flower-url";
import { useJobTypes } from "@/hooks/use-job-types";
import { formatDuration, formatNumber, humanize } from "@/lib/format";
import { JOB_STATUSES } from "@/lib/job-state";
import { toastSuccess } from "@/lib/toast";
import { jobKeys, jobMutations, jobQueries } from "@/queries/jobs";
import { projectQueries } from "@/queries/projects";

const WINDOWS = [
  { value: "1", label: "Last hour" },
  { value: "24", label: "Last 24 hours" },
  { value: "168", label: "Last 7 days" },
];

function seconds(value: number | null | undefined): string {
  return value == null ? "—" : formatDuration(value * 1000);
}

export function QueuesCard({ stats }: { stats: JobStatsPublic }) {
  const unconsumed = new Set(stats.queues_without_consumer);
  return (
    <Card>
      <CardHeader title="Queues" description="Messages waiting in Redis and the age of the oldest." />
      {unconsumed.size > 0 && (
        <CardBody>
          <p role="alert" data-testid="queues-without-consumer" className="text-sm text-red-700">
            Jobs wait in {[...unconsumed].join(", ")} but no worker consumes{" "}
            {unconsumed.size === 1 ? "it" : "them"}: start a worker with <code>-Q</code> naming{" "}
            {unconsumed.size === 1 ? "that queue" : "those queues"}, or they fail as stalled.
          </p>
        </CardBody>
      )}
      <Table aria-label="Queues">
        <thead>
          <tr>
            <Th>Queue</Th>
            <Th className="text-right">Depth</Th>
            <Th className="text-right">Oldest message</Th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {stats.queues.map((queue) => (
            <Tr key={queue.name} data-testid="queue-row">
              <Td className="font-medium">
                {queue.name}
                {unconsumed.has(queue.name) && (
                  <Badge tone="red" className="ml-2">
                    no consumer
                  </Badge>
                )}
              </Td>
              <Td className="text-right tabular-nums">
                {queue.depth == null ? <Badge tone="amber">unreadable</Badge> : formatNumber(queue.depth)}
              </Td>
              <Td className="text-right tabular-nums">{seconds(queue.oldest_message_age_seconds)}</Td>
            </Tr>
          ))}
        </tbody>
      </Table>
    </Card>
  );
}

export function WaitingCard({ stats, label }: { stats: JobStatsPublic; label: (type: string) => string }) {
  const oldest = stats.oldest_waiting_interactive;
  return (
    <Card>
      <CardHeader title="Waiting for a worker" description="Queued jobs by priority; interactive ones are taken first." />
      <Table aria-label="Waiting jobs by priority">
        <tbody className="divide-y divide-slate-100">
          {JOB_PRIORITIES.map((priority) => (
            <Tr key={priority} data-testid="waiting-row" data-priority={priority}>
              <Td>
                <JobPriorityBadge priority={priority} />
              </Td>
              <Td className="text-right tabular-nums">{formatNumber(stats.waiting_by_priority[priority] ?? 0)}</Td>
            </Tr>
          ))}
        </tbody>
      </Table>
      <CardBody>
        {oldest ? (
          <p className="text-sm text-slate-700" data-testid="oldest-interactive">
            Oldest interactive job:{" "}
            <Link to={`/jobs/${oldest.id}`} className="font-medium hover:text-brand-700 hover:underline">
              {label(oldest.job_type)}
            </Link>
            , waiting {seconds(oldest.waiting_seconds)}
          </p>
        ) : (
          <p className="text-sm text-slate-500">No interactive job is waiting.</p>
        )}
      </CardBody>
    </Card>
  );
}

function WorkersCard({ stats }: { stats: JobStatsPublic }) {
  const { online, names } = stats.workers;
  return (
    <Card>
      <CardHeader
        title="Workers"
        description={online === 1 ? "1 worker online" : `${online} workers online`}
        actions={<Badge tone={online > 0 ? "green" : "red"}>{online > 0 ? "Online" : "None online"}</Badge>}
      />
      <CardBody>
        {names.length === 0 ? (
          <p className="text-sm text-slate-500">No worker answered the last ping. Jobs wait in their queues.</p>
        ) : (
          <ul className="space-y-1.5 text-sm">
            {names.map((name) => (
              <li key={name} className="flex items-center gap-2 font-mono text-xs text-slate-700">
                <span className="size-2 rounded-full bg-emerald-500" aria-hidden="true" />
                {name}
              </li>
            ))}
          </ul>
        )}
      </CardBody>
    </Card>
  );
}

const BY_TYPE_COLUMNS = [
  { label: "Active", statuses: ["queued", "running", "retrying"] },
  { label: "Completed", statuses: ["completed"] },
  { label: "Failed", statuses: ["failed"] },
  { label: "Cancelled", statuses: ["cancelled"] },
];

function ByTypeCard({ stats }: { stats: JobStatsPublic }) {
  const types = Object.entries(stats.by_type);
  const { label } = useJobTypes();
  return (
    <Card>
      <CardHeader title="Jobs by type" description={`Started in the last ${stats.window_hours} h.`} />
      {types.length === 0 ? (
        <EmptyState title="No jobs in this window" />
      ) : (
        <Table aria-label="Jobs by type">
          <thead>
            <tr>
              <Th>Type</Th>
              {BY_TYPE_COLUMNS.map((column) => (
                <Th key={column.label} className="text-right">{column.label}</Th>
              ))}
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {types.map(([type, counts]) => (
              <Tr key={type}>
                <Td className="font-medium">{label(type)}</Td>
                {BY_TYPE_COLUMNS.map((column) => (
                  <Td key={column.label} className="text-right tabular-nums">
                    {formatNumber(column.statuses.reduce((sum, status) => sum + (counts[status] ?? 0), 0))}
                  </Td>
                ))}
              </Tr>
            ))}
          </tbody>
        </Table>
      )}
    </Card>
  );
}

const FAILURES_PAGE = 10;

function FailuresCard({ projectName }: { projectName: (id: string | null) => string }) {
  const [offset, setOffset] = useState(0);
  const [jobType, setJobType] = useState<JobType | "">("");
  const typeOptions = useJobTypeOptions();
  const failures = useQuery(
    jobQueries.list({
      status: ["failed"],
      jobType: jobType ? [jobType] : undefined,
      offset,
      limit: FAILURES_PAGE,
    }),
  );
  const queryClient = useQueryClient();
  const retryAll = useMutation({
    mutationFn: () => jobMutations.retryFailed({ jobType: jobType || undefined }),
    meta: { errorTitle: "Could not retry the failed jobs" },
    onSuccess: (page) => toastSuccess(page.count === 1 ? "1 job queued again" : `${page.count} jobs queued again`),
    onSettled: () => queryClient.invalidateQueries({ queryKey: jobKeys.all }),
  });
  return (
    <Card>
      <CardHeader
        title="Failures"
        description="Failed jobs, newest first. Retry one, or all those not retried yet at once."
        actions={
          <>
            <SelectField
              label="Type"
              value={jobType}
              onChange={(event) => {
                setJobType(event.target.value as JobType | "");
                setOffset(0);
              }}
              options={typeOptions}
              className="w-48"
            />
            <Button
              className="self-end"
              variant="secondary"
              loading={retryAll.isPending}
              disabled={!failures.data?.count}
              onClick={() => retryAll.mutate()}
            >
              Retry all failed
            </Button>
          </>
        }
      />
      <QueryBoundary
        query={failures}
        isEmpty={(page) => page.count === 0}
        empty={<EmptyState title="No failed jobs" description="Nothing to look into. Failures show up here with their errors." />}
      >
        {(page) => (
          <>
            <JobsTable
              jobs={page.data}
              showProject={(job) => (
                <>
                  {projectName(job.project_id)}
                  {job.error_category && <> · {humanize(job.error_category)}</>}
                </>
              )}
            />
            <Pagination offset={offset} limit={FAILURES_PAGE} count={page.count} onChange={setOffset} />
          </>
        )}
      </QueryBoundary>
    </Card>
  );
}

function MaintenanceButtons() {
  const queryClient = useQueryClient();
  const { isStartable, label } = useJobTypes();
  const start = useMutation({
    mutationFn: (key: string) => maintenanceStarters.find((starter) => starter.key === key)!.start(),
    meta: { errorTitle: "Could not start the maintenance job" },
    onSuccess: (job) => toastSuccess(`${label(job.job_type)} job started`, job.stage),
    onSettled: () => queryClient.invalidateQueries({ queryKey: jobKeys.all }),
  });
  return (
    <>
      {maintenanceStarters.filter((starter) => isStartable(starter.jobType)).map((starter) => (
        <Button
          key={starter.key}
          variant="secondary"
          loading={start.isPending && start.variables === starter.key}
          onClick={() => start.mutate(starter.key)}
        >
          {starter.label}
        </Button>
      ))}
    </>
  );
}

export function OperationsPage() {
  const user = useCurrentUser();
  const [windowHours, setWindowHours] = useState("24");
  const stats = useQuery({ ...jobQueries.stats(Number(windowHours)), enabled: user.is_superuser });
  const projects = useQuery({ ...projectQueries.list(0, 200), enabled: user.is_superuser });
  const flowerUrl = useFlowerUrl();
  const jobTypes = useJobTypes();
  if (!user.is_superuser) return <Navigate to="/" replace />;
  const names = new Map((projects.data?.data ?? []).map((p: ProjectPublic) => [p.id, p.name]));
  const projectName = (id: string | null) => (id ? (names.get(id) ?? "Project") : "System");
  return (
    <>
      <PageHeader
        title="Operations"
        subtitle="Queues, workers and failures across the platform."
        actions={
          <>
            <SelectField
              label="Window"
              value={windowHours}
              onChange={(event) => setWindowHours(event.target.value)}
              options={WINDOWS}
              className="w-40"
            />
            <div className="flex gap-2 self-end">
              <MaintenanceButtons />
              <a href={flowerUrl} target="_blank" rel="noreferrer" className={buttonClass("secondary")}>
                Open Flower
              </a>
            </div>
          </>
        }
      />
      <QueryBoundary query={stats}>
        {(s) => (
          <div className="space-y-6">
            <dl className="grid grid-cols-2 gap-4 lg:grid-cols-5">
              <Stat label="Active jobs" value={formatNumber(s.active)} />
              <Stat label="Workers online" value={formatNumber(s.workers.online)} />
              <Stat
                label="Success rate"
                value={s.success_rate == null ? "—" : `${(s.success_rate * 100).toFixed(1)}%`}
                hint={`${formatNumber(s.total)} jobs in ${s.window_hours} h`}
              />
              <Stat
                label="Run time p50 / p95"
                value={`${seconds(s.duration_seconds?.p50)} / ${seconds(s.duration_seconds?.p95)}`}
              />
              <Stat
                label="Pickup p50 / p95"
                value={`${seconds(s.pickup_latency_seconds?.p50)} / ${seconds(s.pickup_latency_seconds?.p95)}`}
                hint="Queued to started"
              />
            </dl>
            <div className="grid gap-6 lg:grid-cols-3">
              <Card className="lg:col-span-2">
                <CardHeader title="Jobs by status" description={`Started in the last ${s.window_hours} h.`} />
                <CardBody>
                  <Chart
                    title="Jobs by status"
                    kind="bar"
                    x="status"
                    formatX={(value) => humanize(String(value))}
                    data={JOB_STATUSES.map((status) => ({ status, jobs: s.by_status[status] ?? 0 }))}
                    series={[{ key: "jobs", label: "Jobs" }]}
                    rowColor={(row) => statusColors[row.status]}
                    height={220}
                  />
                </CardBody>
              </Card>
              <WorkersCard stats={s} />
            </div>
            <div className="grid gap-6 lg:grid-cols-3">
              <WaitingCard stats={s} label={jobTypes.label} />
              <QueuesCard stats={s} />
              <ByTypeCard stats={s} />
            </div>
            <FailuresCard projectName={projectName} />
          </div>
        )}
      </QueryBoundary>
    </>
  );
}
