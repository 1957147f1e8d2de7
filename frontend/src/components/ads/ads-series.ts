import { daysOf, type DateRange } from "@/lib/date-range";
import type { AdsDayPublic } from "@/client";

export type AdsChartDay = { date: string; cost: number | null; clicks: number | null; conversions: number | null };

/** Every day of the range with its spend, clicks and conversions (null for a day the API
 * has nothing for, so the chart shows a gap rather than a made-up zero). */
export function adsChartDays(range: DateRange, daily: AdsDayPublic[]): AdsChartDay[] {
  const byDate = new Map(daily.map((day) => [day.date.slice(0, 10), day]));
  return daysOf(range).map((date) => {
    const day = byDate.get(date);
    return { date, cost: day?.cost ?? null, clicks: day?.clicks ?? null, conversions: day?.conversions ?? null };
  });
}
