/** Date ranges of the Search Console and Ads views: whole days as ISO dates (YYYY-MM-DD),
 * in UTC like the data (Google reports days in the property's time zone; the API stores the
 * date as given, so no conversion happens here). */
export type IsoDate = string;
export type DateRange = { start: IsoDate; end: IsoDate };

export type RangePreset = "7d" | "28d" | "90d" | "16m" | "custom";

export const RANGE_PRESETS: { key: Exclude<RangePreset, "custom">; label: string; days: number }[] = [
  { key: "7d", label: "Last 7 days", days: 7 },
  { key: "28d", label: "Last 28 days", days: 28 },
  { key: "90d", label: "Last 3 months", days: 90 },
  // Search Console keeps 16 months of data.
  { key: "16m", label: "Last 16 months", days: 486 },
];

const DAY_MS = 86_400_000;

export function toIsoDate(date: Date): IsoDate {
  return date.toISOString().slice(0, 10);
}

function parse(day: IsoDate): number {
  return Date.parse(`${day}T00:00:00Z`);
}

export function addDays(day: IsoDate, days: number): IsoDate {
  return toIsoDate(new Date(parse(day) + days * DAY_MS));
}

/** Days from `start` to `end`, both included (0 when end is before start). */
export function dayCount({ start, end }: DateRange): number {
  return Math.max(0, Math.round((parse(end) - parse(start)) / DAY_MS) + 1);
}

/** Every day of the range, in order. */
export function daysOf(range: DateRange): IsoDate[] {
  return Array.from({ length: dayCount(range) }, (_, i) => addDays(range.start, i));
}

/** The `days` days ending today (UTC), today included. */
export function presetRange(days: number, today: IsoDate = toIsoDate(new Date())): DateRange {
  return { start: addDays(today, -(days - 1)), end: today };
}

/** The range of the same length just before: what the current one is compared with. */
export function previousRange(range: DateRange): DateRange {
  const length = dayCount(range);
  return { start: addDays(range.start, -length), end: addDays(range.start, -1) };
}

export function isValidRange(range: DateRange): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(range.start) && /^\d{4}-\d{2}-\d{2}$/.test(range.end) && !Number.isNaN(parse(range.start)) && !Number.isNaN(parse(range.end)) && parse(range.start) <= parse(range.end);
}
