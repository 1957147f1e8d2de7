import type { ReactNode } from "react";
import { CartesianGrid, ComposedChart, Line, ReferenceArea, ResponsiveContainer, Tooltip, XAxis, YAxis, type DotItemDotProps } from "recharts";
import { cn } from "@/components/ui/cn";
import { EmptyState } from "@/components/ui/states";
import { formatChange, formatDay } from "@/lib/format";
import { GSC_METRIC_INFO } from "./metrics";
import { GSC_METRICS, provisionalSpan, type ChartDay, type GscMetric, type GscSummary } from "./series";

/** The metric cards above the chart: each shows its total (and the change against the
 * previous period) and toggles its line. */
export function MetricToggles({
  totals,
  previous,
  selected,
  onToggle,
}: {
  totals: GscSummary;
  previous?: GscSummary;
  selected: GscMetric[];
  onToggle: (metric: GscMetric) => void;
}) {
  return (
    <div className="grid grid-cols-2 gap-2 lg:grid-cols-4" role="group" aria-label="Metrics">
      {GSC_METRICS.map((metric) => {
        const info = GSC_METRIC_INFO[metric];
        const on = selected.includes(metric);
        const value = totals[metric];
        const change = value != null && previous ? formatChange(value, previous[metric]) : null;
        const better = change && previous?.[metric] != null && value != null && (info.lowerIsBetter ? value < previous[metric]! : value > previous[metric]!);
        return (
          <button
            key={metric}
            type="button"
            aria-pressed={on}
            onClick={() => onToggle(metric)}
            data-testid={`gsc-total-${metric}`}
            className={cn("rounded-lg px-4 py-3 text-left ring-1 transition-colors", on ? "text-white ring-transparent" : "bg-white text-slate-700 ring-slate-200 hover:bg-slate-50")}
            style={on ? { backgroundColor: info.color } : undefined}
          >
            <span className="block text-xs font-medium opacity-90">{info.label}</span>
            <span className="mt-0.5 block text-xl font-semibold tabular-nums" data-testid="metric-value">
              {info.format(value)}
            </span>
            {change && (
              <span className={cn("block text-xs tabular-nums", on ? "opacity-90" : better ? "text-emerald-600" : "text-red-600")}>
                {change} vs previous period
              </span>
            )}
          </button>
        );
      })}
    </div>
  );
}

function LegendSwatch({ children, swatch }: { children: ReactNode; swatch: ReactNode }) {
  return (
    <li className="flex items-center gap-1.5">
      {swatch}
      {children}
    </li>
  );
}

function ChartTooltip({ active, payload, metrics, showPrevious }: { active?: boolean; payload?: ReadonlyArray<{ payload?: ChartDay }>; metrics: GscMetric[]; showPrevious: boolean }) {
  const day = payload?.[0]?.payload;
  if (!active || !day) return null;
  return (
    <div className="rounded-lg bg-white px-3 py-2 text-xs shadow-md ring-1 ring-slate-200">
      <p className="font-semibold text-slate-900">
        {formatDay(day.date, true)}
        {day.provisional && <span className="ml-1.5 font-normal text-amber-700">provisional</span>}
      </p>
      {metrics.map((metric) => (
        <p key={metric} className="tabular-nums" style={{ color: GSC_METRIC_INFO[metric].color }}>
          {GSC_METRIC_INFO[metric].label}: {GSC_METRIC_INFO[metric].format(day[metric])}
          {showPrevious && day.previous_date && (
            <span className="text-slate-500">
              {" "}
              ({formatDay(day.previous_date)}: {GSC_METRIC_INFO[metric].format(day[`previous_${metric}`])})
            </span>
          )}
        </p>
      ))}
    </div>
  );
}

/**
 * Clicks, impressions, CTR and position by day, each on its own scale (position upside down:
 * 1 is the top). The previous period runs dashed beside the current one; provisional days
 * (Google may still revise them) sit in a shaded band and their points are drawn hollow.
 */
export function GscChart({
  title,
  days,
  metrics,
  showPrevious = false,
  height = 280,
}: {
  title: string;
  days: ChartDay[];
  metrics: GscMetric[];
  showPrevious?: boolean;
  height?: number;
}) {
  if (days.every((day) => GSC_METRICS.every((metric) => day[metric] == null))) {
    return <EmptyState title="No data for this range" description="Sync the property, or choose another range." />;
  }
  if (metrics.length === 0) return <EmptyState title="Choose a metric to chart" />;
  const span = provisionalSpan(days);
  const visibleAxes = metrics.slice(0, 2);
  const provisionalDot = (color: string) =>
    function ProvisionalDot({ cx, cy, payload, index }: DotItemDotProps) {
      if (!(payload as ChartDay | undefined)?.provisional || cx == null || cy == null) return <g key={index} />;
      return <circle key={index} cx={cx} cy={cy} r={3.5} fill="#fff" stroke={color} strokeOpacity={0.6} strokeWidth={1.5} data-provisional="true" />;
    };
  return (
    <figure aria-label={title} className="w-full">
      <div role="img" aria-label={title} style={{ height }}>
        <ResponsiveContainer width="100%" height="100%">
          <ComposedChart data={days} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e2e8f0" />
            <XAxis dataKey="date" tickFormatter={(value) => formatDay(value)} tick={{ fontSize: 12, fill: "#64748b" }} tickLine={false} axisLine={{ stroke: "#cbd5e1" }} minTickGap={24} />
            {metrics.map((metric) => (
              <YAxis
                key={metric}
                yAxisId={metric}
                hide={!visibleAxes.includes(metric)}
                orientation={visibleAxes.indexOf(metric) === 0 ? "left" : "right"}
                reversed={metric === "position"}
                domain={metric === "position" ? [1, "auto"] : [0, "auto"]}
                allowDecimals={metric === "ctr" || metric === "position"}
                tickFormatter={(value: number) => (metric === "ctr" ? `${Math.round(value * 1000) / 10}%` : new Intl.NumberFormat("en", { notation: "compact" }).format(value))}
                tick={{ fontSize: 12, fill: GSC_METRIC_INFO[metric].color }}
                tickLine={false}
                axisLine={false}
                // A hidden axis still takes room unless told not to.
                width={visibleAxes.includes(metric) ? 48 : 0}
              />
            ))}
            {span && (
              <ReferenceArea
                yAxisId={metrics[0]}
                x1={span.from}
                x2={span.to}
                fill="#f59e0b"
                fillOpacity={0.08}
                stroke="#f59e0b"
                strokeOpacity={0.25}
                strokeDasharray="2 3"
                ifOverflow="extendDomain"
                label={{ value: "provisional", position: "insideTopRight", fontSize: 11, fill: "#b45309" }}
              />
            )}
            {showPrevious &&
              metrics.map((metric) => (
                <Line
                  key={`previous_${metric}`}
                  yAxisId={metric}
                  dataKey={`previous_${metric}`}
                  name={`${GSC_METRIC_INFO[metric].label} (previous period)`}
                  stroke={GSC_METRIC_INFO[metric].color}
                  strokeOpacity={0.45}
                  strokeWidth={1.5}
                  strokeDasharray="5 4"
                  dot={false}
                  isAnimationActive={false}
                />
              ))}
            {metrics.map((metric) => (
              <Line
                key={metric}
                yAxisId={metric}
                dataKey={metric}
                name={GSC_METRIC_INFO[metric].label}
                stroke={GSC_METRIC_INFO[metric].color}
                strokeWidth={2}
                dot={provisionalDot(GSC_METRIC_INFO[metric].color)}
                isAnimationActive={false}
              />
            ))}
            <Tooltip content={<ChartTooltip metrics={metrics} showPrevious={showPrevious} />} />
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      <ul className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-600" aria-label="Legend">
        {metrics.map((metric) => (
          <LegendSwatch key={metric} swatch={<span className="h-0.5 w-4 rounded" style={{ backgroundColor: GSC_METRIC_INFO[metric].color }} />}>
            {GSC_METRIC_INFO[metric].label}
          </LegendSwatch>
        ))}
        {showPrevious && <LegendSwatch swatch={<span className="w-4 border-t-2 border-dashed border-slate-400" />}>Previous period</LegendSwatch>}
        {span && (
          <LegendSwatch swatch={<span className="size-3 rounded-sm bg-amber-500/15 ring-1 ring-amber-500/40" />}>
            Provisional (Google may still revise these days)
          </LegendSwatch>
        )}
      </ul>
      <table className="sr-only">
        <caption>{title}</caption>
        <thead>
          <tr>
            <th>Date</th>
            {metrics.map((metric) => (
              <th key={metric}>{GSC_METRIC_INFO[metric].label}</th>
            ))}
            <th>Provisional</th>
          </tr>
        </thead>
        <tbody>
          {days.map((day) => (
            <tr key={day.date}>
              <td>{day.date}</td>
              {metrics.map((metric) => (
                <td key={metric}>{GSC_METRIC_INFO[metric].format(day[metric])}</td>
              ))}
              <td>{day.provisional ? "yes" : "no"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
