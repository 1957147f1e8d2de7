import { useMutation, useQuery } from "@tanstack/react-query";
import { Link, useParams, useSearchParams } from "react-router";
import { AuditCharts } from "@/components/audits/audit-charts";
import { DiffPanel } from "@/components/audits/diff-panel";
import { IssuesPanel } from "@/components/audits/issues-panel";
import { PagesPanel } from "@/components/audits/pages-panel";
import { ScoreRing } from "@/components/audits/score-ring";
import { JobProgress } from "@/components/jobs/job-progress";
import { JobStatusBadge } from "@/components/jobs/job-status-badge";
import { Badge } from "@/components/ui/badge";
import { Button, buttonClass } from "@/components/ui/button";
import { Card, CardBody } from "@/components/ui/card";
import { PageHeader } from "@/components/ui/page-header";
import { QueryBoundary } from "@/components/ui/states";
import { Tabs } from "@/components/ui/tabs";
import { useJob } from "@/hooks/use-job";
import { durationBetween, formatDateTime, formatDuration, formatNumber } from "@/lib/format";
import { isActive } from "@/lib/job-state";
import { auditQueries, downloadAuditCsv } from "@/queries/audits";
import { projectQueries } from "@/queries/projects";

type Tab = "overview" | "issues" | "pages" | "diff";

function CsvButton({ auditId, kind }: { auditId: string; kind: "pages" | "issues" }) {
  const download = useMutation({
    mutationFn: () => downloadAuditCsv(auditId, kind),
    meta: { errorTitle: "Could not export the CSV" },
  });
  return (
    <Button variant="secondary" loading={download.isPending} onClick={() => download.mutate()}>
      Export {kind} (CSV)
    </Button>
  );
}

function SeverityStat({ label, value, className }: { label: string; value: number; className: string }) {
  return (
    <div>
      <dt className="text-xs font-medium text-slate-500">{label}</dt>
      <dd className={`text-2xl font-semibold tabular-nums ${className}`}>{formatNumber(value)}</dd>
    </div>
  );
}

/** While the audit's job runs, its live progress heads the report. */
function LiveJob({ jobId }: { jobId: string }) {
  const job = useJob(jobId);
  if (!job.data || !isActive(job.data.status)) return null;
  return (
    <Card className="mb-6">
      <CardBody>
        <JobProgress job={job.data} />
      </CardBody>
    </Card>
  );
}

export function AuditPage() {
  const { auditId = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const tab = (params.get("tab") as Tab | null) ?? "overview";
  const summary = useQuery(auditQueries.summary(auditId));
  const project = useQuery({
    ...projectQueries.detail(summary.data?.audit.project_id ?? ""),
    enabled: Boolean(summary.data),
  });
  return (
    <QueryBoundary query={summary}>
      {(s) => {
        const audit = s.audit;
        const issuesTotal = Object.values(s.issues_by_severity).reduce((a, b) => a + b, 0);
        const duration = durationBetween(audit.started_at, audit.finished_at);
        return (
          <>
            <PageHeader
              breadcrumb={
                <>
                  <Link to="/" className="hover:text-slate-700">Projects</Link>
                  {" / "}
                  <Link to={`/projects/${audit.project_id}`} className="hover:text-slate-700">
                    {project.data?.name ?? "Project"}
                  </Link>
                </>
              }
              title={
                <span className="flex items-center gap-3">
                  Site audit {s.job_status && <JobStatusBadge status={s.job_status} />}
                </span>
              }
              subtitle={
                <>
                  {String(audit.config_json.start_url ?? project.data?.site_url ?? "")} · started {formatDateTime(audit.started_at)}
                  {audit.finished_at && <> · took {formatDuration(duration)}</>}
                </>
              }
              actions={
                <>
                  <CsvButton auditId={auditId} kind="pages" />
                  <CsvButton auditId={auditId} kind="issues" />
                  {audit.job_id && (
                    <Link to={`/jobs/${audit.job_id}`} className={buttonClass("ghost")}>
                      Job details
                    </Link>
                  )}
                </>
              }
            />
            {audit.job_id && <LiveJob jobId={audit.job_id} />}
            <Card className="mb-6">
              <CardBody className="flex flex-wrap items-center gap-x-10 gap-y-6">
                <ScoreRing score={audit.score} />
                <dl className="grid flex-1 grid-cols-2 gap-6 sm:grid-cols-4">
                  <div>
                    <dt className="text-xs font-medium text-slate-500">Pages crawled</dt>
                    <dd className="text-2xl font-semibold tabular-nums text-slate-900" data-testid="audit-pages-total">
                      {formatNumber(s.pages_total)}
                    </dd>
                  </div>
                  <SeverityStat label="Errors" value={s.issues_by_severity.error ?? 0} className="text-red-600" />
                  <SeverityStat label="Warnings" value={s.issues_by_severity.warning ?? 0} className="text-amber-600" />
                  <SeverityStat label="Notices" value={s.issues_by_severity.notice ?? 0} className="text-brand-600" />
                </dl>
                {audit.render_status === "skipped" && (
                  <p className="w-full text-sm text-slate-600">
                    <Badge tone="amber">Rendering skipped</Badge>{" "}
                    {audit.render_skipped_reason ?? "JavaScript was not rendered for this audit."}
                  </p>
                )}
              </CardBody>
            </Card>
            <div className="mb-6">
              <Tabs<Tab>
                label="Audit report"
                selected={tab}
                onSelect={(key) => setParams(key === "overview" ? {} : { tab: key }, { replace: true })}
                tabs={[
                  { key: "overview", label: "Overview" },
                  { key: "issues", label: "Issues", count: issuesTotal },
                  { key: "pages", label: "Pages", count: s.pages_total },
                  { key: "diff", label: "Changes" },
                ]}
              />
            </div>
            <div role="tabpanel" aria-label={tab}>
              {tab === "overview" && <AuditCharts auditId={auditId} summary={s} />}
              {tab === "issues" && <IssuesPanel auditId={auditId} />}
              {tab === "pages" && <PagesPanel auditId={auditId} issueCodes={Object.keys(s.issues_by_code).sort()} />}
              {tab === "diff" && <DiffPanel auditId={auditId} />}
            </div>
          </>
        );
      }}
    </QueryBoundary>
  );
}
