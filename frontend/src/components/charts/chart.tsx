import {
  Area,
  AreaChart,
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { EmptyState } from "@/components/ui/states";
import { palette } from "./palette";

export type ChartKind = "bar" | "stacked-bar" | "line" | "area";

export type ChartSeries<Row> = {
  key: Extract<keyof Row, string>;
  label: string;
  color?: string;
};

export type ChartProps<Row extends Record<string, unknown>> = {
  /** Says what the chart shows, for screen readers (the figures follow in a hidden table). */
  title: string;
  kind: ChartKind;
  data: Row[];
  x: Extract<keyof Row, string>;
  series: ChartSeries<Row>[];
  height?: number;
  formatX?: (value: unknown) => string;
  formatY?: (value: number) => string;
  emptyText?: string;
  /** One colour per row (single-series bars: status codes, severities). */
  rowColor?: (row: Row) => string | undefined;
};

/** The one chart of the dashboard: bars, stacked bars, lines or areas over rows of data.
 * Audits use it now; Search Console and rankings views reuse it for their series. */
export function Chart<Row extends Record<string, unknown>>({
  title,
  kind,
  data,
  x,
  series,
  height = 240,
  formatX = (value) => String(value),
  formatY = (value) => new Intl.NumberFormat("en", { notation: "compact" }).format(value),
  emptyText = "No data yet",
  rowColor,
}: ChartProps<Row>) {
  if (data.length === 0) return <EmptyState title={emptyText} />;
  const colorOf = (index: number, color?: string) => color ?? palette[index % palette.length]!;
  const axes = (
    <>
      <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e2e8f0" />
      <XAxis
        dataKey={x}
        tickFormatter={formatX}
        tick={{ fontSize: 12, fill: "#64748b" }}
        tickLine={false}
        axisLine={{ stroke: "#cbd5e1" }}
        minTickGap={12}
      />
      <YAxis
        tickFormatter={formatY}
        tick={{ fontSize: 12, fill: "#64748b" }}
        tickLine={false}
        axisLine={false}
        width={48}
        allowDecimals={false}
      />
      <Tooltip
        labelFormatter={(label) => formatX(label)}
        formatter={(value) => (typeof value === "number" ? formatY(value) : String(value))}
        contentStyle={{ borderRadius: 8, borderColor: "#e2e8f0", fontSize: 12 }}
      />
      {series.length > 1 && <Legend iconType="circle" wrapperStyle={{ fontSize: 12 }} />}
    </>
  );
  let chart;
  if (kind === "line") {
    chart = (
      <LineChart data={data}>
        {axes}
        {series.map((s, i) => (
          <Line key={s.key} type="monotone" dataKey={s.key} name={s.label} stroke={colorOf(i, s.color)} strokeWidth={2} dot={false} isAnimationActive={false} />
        ))}
      </LineChart>
    );
  } else if (kind === "area") {
    chart = (
      <AreaChart data={data}>
        {axes}
        {series.map((s, i) => (
          <Area key={s.key} type="monotone" dataKey={s.key} name={s.label} stackId="1" stroke={colorOf(i, s.color)} fill={colorOf(i, s.color)} fillOpacity={0.25} isAnimationActive={false} />
        ))}
      </AreaChart>
    );
  } else {
    chart = (
      <BarChart data={data}>
        {axes}
        {series.map((s, i) => (
          <Bar
            key={s.key}
            dataKey={s.key}
            name={s.label}
            fill={colorOf(i, s.color)}
            stackId={kind === "stacked-bar" ? "1" : undefined}
            radius={kind === "bar" ? [4, 4, 0, 0] : undefined}
            maxBarSize={48}
            isAnimationActive={false}
          >
            {rowColor && data.map((row, r) => <Cell key={r} fill={rowColor(row) ?? colorOf(i, s.color)} />)}
          </Bar>
        ))}
      </BarChart>
    );
  }
  return (
    <figure aria-label={title} className="w-full">
      <div role="img" aria-label={title} style={{ height }}>
        <ResponsiveContainer width="100%" height="100%">
          {chart}
        </ResponsiveContainer>
      </div>
      <table className="sr-only">
        <caption>{title}</caption>
        <thead>
          <tr>
            <th>{x}</th>
            {series.map((s) => (
              <th key={s.key}>{s.label}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {data.map((row, i) => (
            <tr key={i}>
              <td>{formatX(row[x])}</td>
              {series.map((s) => (
                <td key={s.key}>{String(row[s.key] ?? "")}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
