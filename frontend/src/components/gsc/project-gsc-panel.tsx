import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import type { ConnectionPublic, ProjectPublic } from "@/client";
import { ConnectionSyncSection, ProviderPanel, type SyncedProvider } from "@/components/connections/provider-panel";
import type { SyncAction } from "@/components/connections/sync-jobs";
import { CardBody } from "@/components/ui/card";
import { SelectField } from "@/components/ui/form";
import { presetChoice, RangePicker, type RangeChoice } from "@/components/ui/range-picker";
import { QueryBoundary } from "@/components/ui/states";
import { dayCount } from "@/lib/date-range";
import { formatDay } from "@/lib/format";
import { gscKeys, gscMutations, gscQueries, type GscRowKind, type GscSegment } from "@/queries/gsc";
import { GSC_COUNTRIES, GSC_DEVICES, GSC_SEARCH_TYPES } from "./segments";
import { GscConnectForm } from "./gsc-connect-form";
import { GscChart, MetricToggles } from "./gsc-chart";
import { SeriesDialog } from "./series-dialog";
import { compareSeries, previousIsComparable, type GscMetric } from "./series";
import { TopTable } from "./top-table";

function Performance({ projectId, range, segment }: { projectId: string; range: RangeChoice; segment: GscSegment }) {
  const [metrics, setMetrics] = useState<GscMetric[]>(["clicks", "impressions"]);
  const data = useQuery(gscQueries.metrics(projectId, range.range, segment));
  const toggle = (metric: GscMetric) => setMetrics((current) => (current.includes(metric) ? current.filter((m) => m !== metric) : [...current, metric]));
  return (
    <QueryBoundary query={data}>
      {(metricsData) => {
        const comparable = previousIsComparable(metricsData.daily, metricsData.previous.daily);
        return (
          <div className="space-y-4">
            <MetricToggles totals={metricsData.totals} previous={comparable ? metricsData.previous.totals : undefined} selected={metrics} onToggle={toggle} />
            {!comparable && metricsData.daily.length > 0 && (
              <p className="text-xs text-slate-500" data-testid="gsc-previous-incomplete">
                The previous period ({formatDay(metricsData.previous.start, true)} – {formatDay(metricsData.previous.end, true)}) has data on{" "}
                {metricsData.previous.daily.length} of its {dayCount({ start: metricsData.previous.start, end: metricsData.previous.end })} days: backfill
                to compare with it.
              </p>
            )}
            <GscChart
              title="Search performance by day"
              days={compareSeries(range.range, metricsData.daily, metricsData.previous)}
              metrics={metrics}
              showPrevious={comparable}
            />
          </div>
        );
      }}
    </QueryBoundary>
  );
}

function ConnectedView({ project, connection, provider }: { project: ProjectPublic; connection: ConnectionPublic; provider: SyncedProvider }) {
  const [range, setRange] = useState<RangeChoice>(() => presetChoice("28d"));
  const [segment, setSegment] = useState<GscSegment>({});
  const [opened, setOpened] = useState<{ kind: GscRowKind; item: string } | null>(null);
  const actions: SyncAction[] = [
    { key: "gsc-sync", label: "Sync now", jobType: "gsc_sync", start: () => gscMutations.sync(project.id) },
    { key: "gsc-backfill", label: "Backfill 16 months", jobType: "gsc_backfill", start: () => gscMutations.backfill(project.id) },
  ];
  return (
    <>
      <ConnectionSyncSection projectId={project.id} connection={connection} provider={provider} actions={actions} />
      <CardBody className="space-y-4">
        <div className="flex flex-wrap items-end justify-between gap-3">
          <RangePicker value={range} onChange={setRange} />
          <div className="flex gap-2">
            <SelectField
              label="Country"
              value={segment.country ?? ""}
              onChange={(event) => setSegment((s) => ({ ...s, country: event.target.value || undefined }))}
              options={[{ value: "", label: "All countries" }, ...GSC_COUNTRIES]}
            />
            <SelectField
              label="Device"
              value={segment.device ?? ""}
              onChange={(event) => setSegment((s) => ({ ...s, device: (event.target.value || undefined) as GscSegment["device"] }))}
              options={[{ value: "", label: "All devices" }, ...GSC_DEVICES]}
            />
            <SelectField
              label="Search type"
              value={segment.type ?? "web"}
              onChange={(event) => setSegment((s) => ({ ...s, type: event.target.value === "web" ? undefined : (event.target.value as GscSegment["type"]) }))}
              options={GSC_SEARCH_TYPES}
            />
          </div>
        </div>
        <Performance projectId={project.id} range={range} segment={segment} />
      </CardBody>
      <div className="grid gap-4 border-t border-slate-100 bg-slate-50/60 p-4 2xl:grid-cols-2">
        <TopTable projectId={project.id} kind="queries" range={range.range} segment={segment} onOpen={(item) => setOpened({ kind: "queries", item })} />
        <TopTable projectId={project.id} kind="pages" range={range.range} segment={segment} onOpen={(item) => setOpened({ kind: "pages", item })} />
      </div>
      <SeriesDialog projectId={project.id} kind={opened?.kind ?? "queries"} item={opened?.item ?? null} range={range.range} segment={segment} onClose={() => setOpened(null)} />
    </>
  );
}

/** The project's Search Console: a connect form until a property is connected, then its
 * clicks, impressions, CTR and position, top queries and pages, and the sync jobs. */
export function ProjectGscPanel({ project }: { project: ProjectPublic }) {
  const connection = useQuery(gscQueries.connection(project.id));
  const provider = useMemo<SyncedProvider>(
    () => ({
      name: "Search Console",
      targetLabel: "Property",
      disconnect: () => gscMutations.disconnect(project.id),
      projectKey: gscKeys.project(project.id),
      dataKey: gscKeys.data(project.id),
    }),
    [project.id],
  );
  return (
    <ProviderPanel
      label="Search Console"
      title="Search Console"
      description="Clicks, impressions, CTR and average position from Google Search."
      provider={provider}
      connection={connection}
      intro="Connect a Search Console property to chart its search traffic. Give the service account (or the Google account of the OAuth client) access to the property first."
      connectForm={(onSaved) => <GscConnectForm projectId={project.id} onSaved={onSaved} />}
    >
      {(data) => <ConnectedView project={project} connection={data} provider={provider} />}
    </ProviderPanel>
  );
}
