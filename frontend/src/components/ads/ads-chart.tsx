import { Bar, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { EmptyState } from "@/components/ui/states";
import { formatCurrency, formatDay, formatNumber } from "@/lib/format";
import type { AdsChartDay } from "./ads-series";

const COLORS = { cost: "#6366f1", clicks: "#10b981", conversions: "#f59e0b" };

/** Spend (bars, in the account's currency), clicks and conversions (lines) by day. */
export function AdsChart({ title, days, currency, height = 260 }: { title: string; days: AdsChartDay[]; currency: string | null; height?: number }) {
  if (days.every((day) => day.cost == null && day.clicks == null)) {
    return <EmptyState title="No data for this range" description="Sync the account, or choose another range." />;
  }
  const compact = new Intl.NumberFormat("en", { notation: "compact" });
  return (
    <figure aria-label={title} className="w-full">
      <div role="img" aria-label={title} style={{ height }}>
        <ResponsiveContainer width="100%" height="100%">
          <ComposedChart data={days} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e2e8f0" />
            <XAxis dataKey="date" tickFormatter={(value) => formatDay(value)} tick={{ fontSize: 12, fill: "#64748b" }} tickLine={false} axisLine={{ stroke: "#cbd5e1" }} minTickGap={24} />
            <YAxis yAxisId="cost" tickFormatter={(value: number) => compact.format(value)} tick={{ fontSize: 12, fill: COLORS.cost }} tickLine={false} axisLine={false} width={52} />
            <YAxis yAxisId="clicks" orientation="right" allowDecimals={false} tickFormatter={(value: number) => compact.format(value)} tick={{ fontSize: 12, fill: COLORS.clicks }} tickLine={false} axisLine={false} width={44} />
            <YAxis yAxisId="conversions" orientation="right" hide width={0} />
            <Tooltip
              labelFormatter={(label) => formatDay(label, true)}
              formatter={(value, name) => (name === "Spend" ? formatCurrency(Number(value), currency) : formatNumber(Number(value)))}
              contentStyle={{ borderRadius: 8, borderColor: "#e2e8f0", fontSize: 12 }}
            />
            <Legend iconType="circle" wrapperStyle={{ fontSize: 12 }} />
            <Bar yAxisId="cost" dataKey="cost" name="Spend" fill={COLORS.cost} fillOpacity={0.75} maxBarSize={24} radius={[3, 3, 0, 0]} isAnimationActive={false} />
            <Line yAxisId="clicks" dataKey="clicks" name="Clicks" stroke={COLORS.clicks} strokeWidth={2} dot={false} isAnimationActive={false} />
            <Line yAxisId="conversions" dataKey="conversions" name="Conversions" stroke={COLORS.conversions} strokeWidth={2} dot={false} isAnimationActive={false} />
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      <table className="sr-only">
        <caption>{title}</caption>
        <thead>
          <tr>
            <th>Date</th>
            <th>Spend</th>
            <th>Clicks</th>
            <th>Conversions</th>
          </tr>
        </thead>
        <tbody>
          {days.map((day) => (
            <tr key={day.date}>
              <td>{day.date}</td>
              <td>{formatCurrency(day.cost, currency)}</td>
              <td>{formatNumber(day.clicks)}</td>
              <td>{formatNumber(day.conversions)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
