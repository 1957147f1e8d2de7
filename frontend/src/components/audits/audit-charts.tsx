import { useQuery } from "@tanstack/react-query";
import type { AuditSummaryPublic } from "@/client";
import { Chart } from "@/components/charts/chart";
import { histogram } from "@/components/charts/histogram";
import { severityColors } from "@/components/charts/palette";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { QueryBoundary } from "@/components/ui/states";
import { formatNumber, humanize } from "@/lib/format";
import { auditQueries } from "@/queries/audits";
import { SEVERITIES } from "./severity";

const STATUS_ORDER = ["2xx", "3xx", "4xx", "5xx", "error", "blocked"];
const STATUS_COLORS: Record<string, string> = {
  "2xx": "#10b981",
  "3xx": "#8b5cf6",
  "4xx": "#f59e0b",
  "5xx": "#ef4444",
  error: "#64748b",
  blocked: "#94a3b8",
};
const RESPONSE_EDGES = [0, 100, 250, 500, 1000, 2000, 5000];
const SAMPLE_MAX = 2000;

function ChartCard({ title, description, children }: { title: string; description?: string; children: React.ReactNode }) {
  return (
    <Card>
      <CardHeader title={title} description={description} />
      <CardBody>{children}</CardBody>
    </Card>
  );
}

export function AuditCharts({ auditId, summary }: { auditId: string; summary: AuditSummaryPublic }) {
  const sample = useQuery(auditQueries.pageSample(auditId, SAMPLE_MAX));
  const statusRows = STATUS_ORDER.filter((bucket) => summary.pages_by_status[bucket]).map((bucket) => ({
    bucket,
    pages: summary.pages_by_status[bucket] ?? 0,
  }));
  const severityRows = SEVERITIES.map((severity) => ({ severity, issues: summary.issues_by_severity[severity] ?? 0 }));
  const partial = (total: number, shown: number) =>
    shown < total ? `From the first ${formatNumber(shown)} of ${formatNumber(total)} pages.` : undefined;
  return (
    <div className="grid gap-6 lg:grid-cols-2">
      <ChartCard title="Pages by status code">
        <Chart
          title="Pages by status code"
          kind="bar"
          x="bucket"
          formatX={(value) => humanize(String(value))}
          data={statusRows}
          series={[{ key: "pages", label: "Pages" }]}
          rowColor={(row) => STATUS_COLORS[row.bucket]}
          height={220}
          emptyText="No pages crawled yet"
        />
      </ChartCard>
      <ChartCard title="Issues by severity">
        <Chart
          title="Issues by severity"
          kind="bar"
          x="severity"
          formatX={(value) => humanize(String(value))}
          data={severityRows}
          series={[{ key: "issues", label: "Issues" }]}
          rowColor={(row) => severityColors[row.severity]}
          height={220}
        />
      </ChartCard>
      <QueryBoundary query={sample}>
        {({ pages, total }) => {
          const depths = new Map<number, number>();
          for (const page of pages) depths.set(page.depth, (depths.get(page.depth) ?? 0) + 1);
          const depthRows = [...depths.entries()].sort(([a], [b]) => a - b).map(([depth, count]) => ({ depth, pages: count }));
          const times = pages.flatMap((page) => (page.response_time_ms == null ? [] : [page.response_time_ms]));
          const timeRows = histogram(times, RESPONSE_EDGES, (low, high) => (high == null ? `≥ ${low / 1000}s` : `${low}–${high} ms`));
          return (
            <>
              <ChartCard title="Pages by depth" description={partial(total, pages.length) ?? "Clicks from the start page."}>
                <Chart
                  title="Pages by click depth"
                  kind="bar"
                  x="depth"
                  data={depthRows}
                  series={[{ key: "pages", label: "Pages" }]}
                  height={220}
                  emptyText="No pages crawled yet"
                />
              </ChartCard>
              <ChartCard title="Response times" description={partial(total, pages.length) ?? "How long the server took to answer."}>
                <Chart
                  title="Response time distribution"
                  kind="bar"
                  x="bucket"
                  data={times.length ? timeRows : []}
                  series={[{ key: "count", label: "Pages", color: "#06b6d4" }]}
                  height={220}
                  emptyText="No response times yet"
                />
              </ChartCard>
            </>
          );
        }}
      </QueryBoundary>
    </div>
  );
}
