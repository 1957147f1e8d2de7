import { formatDecimal, formatNumber, formatPercent } from "@/lib/format";
import type { GscMetric } from "./series";

/** How each Search Console figure is named, coloured and written. A lower position is
 * better, so its axis runs upside down and a fall is good news. */
export const GSC_METRIC_INFO: Record<GscMetric, { label: string; color: string; format: (value: number | null) => string; lowerIsBetter?: boolean }> = {
  clicks: { label: "Clicks", color: "#4f46e5", format: (value) => formatNumber(value) },
  impressions: { label: "Impressions", color: "#0891b2", format: (value) => formatNumber(value) },
  ctr: { label: "CTR", color: "#059669", format: (value) => formatPercent(value) },
  position: { label: "Position", color: "#ea580c", format: (value) => formatDecimal(value), lowerIsBetter: true },
};
