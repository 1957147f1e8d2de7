import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import type { ProjectPublic } from "@/client";
import { Chart } from "@/components/charts/chart";
import { severityColors } from "@/components/charts/palette";
import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { Pagination } from "@/components/ui/pagination";
import { EmptyState, QueryBoundary } from "@/components/ui/states";
import { Table, Td, Th, Tr } from "@/components/ui/table";
import { formatDateTime, formatNumber, humanize } from "@/lib/format";
import { auditQueries } from "@/queries/audits";
import { SEVERITIES } from "./severity";

const PAGE_SIZE = 10;
const TREND_AUDITS = 30;

function severityCounts(stats: Record<string, unknown>): Record<string, number> {
  return (stats.issues_by_severity as Record<string, number> | undefined) ?? {};
}

/** Issues by severity across the project's audits, oldest to newest. */
function IssuesTrend({ projectId }: { projectId: string }) {
  const audits = useQuery(auditQueries.project(projectId, 0, TREND_AUDITS));
  return (
    <Card>
      <CardHeader title="Issues over time" description="By severity, across the project's audits." />
      <CardBody>
        <QueryBoundary query={audits}>
          {(page) => (
            <Chart
              title="Issues by severity over the project's audits"
              kind="area"
              x="at"
              formatX={(value) => new Date(String(value)).toLocaleDateString("en", { month: "short", day: "numeric" })}
              data={page.data
                .filter((audit) => audit.status === "completed")
                .reverse()
                .map((audit) => ({ at: audit.started_at ?? "", ...severityCounts(audit.stats_json) }))}
              series={SEVERITIES.map((s) => ({ key: s as never, label: humanize(s), color: severityColors[s] }))}
              emptyText="No completed audit yet"
              height={220}
            />
          )}
        </QueryBoundary>
      </CardBody>
    </Card>
  );
}

export function ProjectAuditsPanel({ project }: { project: ProjectPublic }) {
  const [offset, setOffset] = useState(0);
  const audits = useQuery(auditQueries.project(project.id, offset, PAGE_SIZE));
  return (
    <div className="grid gap-6 2xl:grid-cols-5">
      <Card className="2xl:col-span-3">
        <CardHeader title="Audits" description="Reports of the site's crawls, newest first." />
        <QueryBoundary
          query={audits}
          isEmpty={(page) => page.count === 0}
          empty={<EmptyState title="No audits yet" description="Run an audit to get a report of the site's health." />}
        >
          {(page) => (
            <>
              <Table aria-label="Audits">
                <thead>
                  <tr>
                    <Th>Started</Th>
                    <Th>Status</Th>
                    <Th className="text-right">Score</Th>
                    <Th className="text-right">Pages</Th>
                    <Th className="text-right">Errors</Th>
                    <Th className="text-right">Warnings</Th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {page.data.map((audit) => {
                    const counts = severityCounts(audit.stats_json);
                    const pages = Object.values((audit.stats_json.pages_by_status as Record<string, number> | undefined) ?? {}).reduce(
                      (a, b) => a + b,
                      0,
                    );
                    return (
                      <Tr key={audit.id} data-testid="audit-row">
                        <Td className="whitespace-nowrap">
                          <Link to={`/audits/${audit.id}`} className="font-medium text-slate-900 hover:text-brand-700 hover:underline">
                            {formatDateTime(audit.started_at)}
                          </Link>
                        </Td>
                        <Td>
                          <Badge tone={audit.status === "completed" ? "green" : audit.status === "failed" ? "red" : audit.status === "cancelled" ? "violet" : "blue"}>
                            {humanize(audit.status ?? "")}
                          </Badge>
                        </Td>
                        <Td className="text-right font-semibold tabular-nums">{audit.score ?? "—"}</Td>
                        <Td className="text-right tabular-nums">{pages ? formatNumber(pages) : "—"}</Td>
                        <Td className="text-right tabular-nums text-red-600">{formatNumber(counts.error ?? 0)}</Td>
                        <Td className="text-right tabular-nums text-amber-600">{formatNumber(counts.warning ?? 0)}</Td>
                      </Tr>
                    );
                  })}
                </tbody>
              </Table>
              <Pagination offset={offset} limit={PAGE_SIZE} count={page.count} onChange={setOffset} />
            </>
          )}
        </QueryBoundary>
      </Card>
      <div className="2xl:col-span-2">
        <IssuesTrend projectId={project.id} />
      </div>
    </div>
  );
}
