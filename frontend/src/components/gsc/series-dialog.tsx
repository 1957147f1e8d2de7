import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { QueryBoundary } from "@/components/ui/states";
import type { DateRange } from "@/lib/date-range";
import { gscQueries, type GscRowKind, type GscSegment } from "@/queries/gsc";
import { GscChart, MetricToggles } from "./gsc-chart";
import { compareSeries, summarize, type GscMetric } from "./series";

/** One query's or page's own chart over the chosen range. */
export function SeriesDialog({
  projectId,
  kind,
  item,
  range,
  segment,
  onClose,
}: {
  projectId: string;
  kind: GscRowKind;
  item: string | null;
  range: DateRange;
  segment: GscSegment;
  onClose: () => void;
}) {
  const [metrics, setMetrics] = useState<GscMetric[]>(["clicks", "impressions"]);
  const series = useQuery({ ...gscQueries.series(projectId, kind, item ?? "", range, segment), enabled: item !== null });
  const toggle = (metric: GscMetric) => setMetrics((current) => (current.includes(metric) ? current.filter((m) => m !== metric) : [...current, metric]));
  return (
    <Dialog open={item !== null} onClose={onClose} title={item ?? ""} size="lg">
      <p className="-mt-2 mb-4 text-sm text-slate-500">{kind === "queries" ? "Search query" : "Page"} over the chosen range</p>
      <QueryBoundary query={series}>
        {(data) => (
          <div className="space-y-4">
            <MetricToggles totals={summarize(data.daily)} selected={metrics} onToggle={toggle} />
            <GscChart title={`${kind === "queries" ? "Query" : "Page"} ${item ?? ""} by day`} days={compareSeries(range, data.daily)} metrics={metrics} height={240} />
          </div>
        )}
      </QueryBoundary>
      <div className="mt-4 flex justify-end">
        <Button variant="secondary" onClick={onClose}>
          Close
        </Button>
      </div>
    </Dialog>
  );
}
