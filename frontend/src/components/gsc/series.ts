import { daysOf, type DateRange } from "@/lib/date-range";
import type { MetricPoint } from "@/client";

export const GSC_METRICS = ["clicks", "impressions", "ctr", "position"] as const;
export type GscMetric = (typeof GSC_METRICS)[number];

/** One day of the chart: the period's figures and, aligned by position in the period, the
 * previous period's (`previous_clicks`, ...). A day without data is null, so the line shows
 * a gap rather than a made-up zero. */
export type ChartDay = {
  date: string;
  provisional: boolean;
  previous_date: string | null;
} & Record<GscMetric | `previous_${GscMetric}`, number | null>;

function byDate(days: MetricPoint[] | undefined): Map<string, MetricPoint> {
  return new Map((days ?? []).map((day) => [day.date.slice(0, 10), day]));
}

/** The days of `range` with the current figures, and the previous period's figures laid
 * over them day by day (its first day beside the range's first day). */
export function compareSeries(range: DateRange, current: MetricPoint[], previous?: { start: string; end: string; daily: MetricPoint[] }): ChartDay[] {
  const now = byDate(current);
  const before = byDate(previous?.daily);
  const previousDays = previous ? daysOf({ start: previous.start.slice(0, 10), end: previous.end.slice(0, 10) }) : [];
  return daysOf(range).map((date, index) => {
    const day = now.get(date);
    const previousDate = previousDays[index] ?? null;
    const earlier = previousDate ? before.get(previousDate) : undefined;
    const row = { date, provisional: day?.provisional ?? false, previous_date: previousDate } as ChartDay;
    for (const metric of GSC_METRICS) {
      row[metric] = day ? day[metric] : null;
      row[`previous_${metric}`] = earlier ? earlier[metric] : null;
    }
    return row;
  });
}

/** The band of days that are not final yet: from the first provisional day to the end of
 * the range (days after it have no data yet, and a one-day band would have no width); null
 * when every day is final. */
export function provisionalSpan(days: ChartDay[]): { from: string; to: string } | null {
  const first = days.findIndex((day) => day.provisional);
  if (first < 0) return null;
  return { from: days[first]!.date, to: days[days.length - 1]!.date };
}

export type GscSummary = Record<GscMetric, number | null>;

/** Totals of a daily series the way Search Console counts them: clicks and impressions add
 * up, CTR is clicks over impressions, the average position is weighted by impressions (a day
 * seen a thousand times counts more than a day seen once). */
export function summarize(days: Pick<MetricPoint, "clicks" | "impressions" | "position">[]): GscSummary {
  if (days.length === 0) return { clicks: null, impressions: null, ctr: null, position: null };
  let clicks = 0;
  let impressions = 0;
  let weighted = 0;
  for (const day of days) {
    clicks += day.clicks;
    impressions += day.impressions;
    weighted += day.position * day.impressions;
  }
  return {
    clicks,
    impressions,
    ctr: impressions > 0 ? clicks / impressions : null,
    position: impressions > 0 ? weighted / impressions : null,
  };
}

/** Whether the previous period can be compared with: the API lists only synced days, and a
 * period synced on a few days only would make every change look huge. It needs data on at
 * least 90 % as many days as the current period. */
export function previousIsComparable(current: MetricPoint[], previous: MetricPoint[]): boolean {
  return current.length > 0 && previous.length >= current.length * 0.9;
}
