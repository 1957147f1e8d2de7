import type { MetricPoint } from "@/client";
import { compareSeries, previousIsComparable, provisionalSpan, summarize } from "./series";

const day = (date: string, clicks: number, impressions: number, position: number, provisional = false): MetricPoint => ({
  date,
  clicks,
  impressions,
  ctr: impressions ? clicks / impressions : 0,
  position,
  provisional,
});

describe("compareSeries", () => {
  const range = { start: "2026-12-01", end: "2026-12-04" };
  const previous = {
    start: "2026-11-27",
    end: "2026-11-30",
    daily: [day("2026-11-27", 5, 50, 8), day("2026-11-30", 7, 70, 6)],
  };

  it("lays the previous period over the current one day by day", () => {
    const rows = compareSeries(range, [day("2026-12-01", 10, 100, 4), day("2026-12-02", 12, 90, 3.5)], previous);
    expect(rows.map((row) => [row.date, row.previous_date])).toEqual([
      ["2026-12-01", "2026-11-27"],
      ["2026-12-02", "2026-11-28"],
      ["2026-12-03", "2026-11-29"],
      ["2026-12-04", "2026-11-30"],
    ]);
    expect(rows[0]).toMatchObject({ clicks: 10, previous_clicks: 5, position: 4, previous_position: 8 });
    expect(rows[3]).toMatchObject({ clicks: null, previous_clicks: 7 });
  });

  it("leaves days without data empty instead of zero", () => {
    const rows = compareSeries(range, [day("2026-12-02", 0, 0, 0)]);
    expect(rows.map((row) => row.clicks)).toEqual([null, 0, null, null]);
    expect(rows[0]!.previous_clicks).toBeNull();
    expect(rows[0]!.previous_date).toBeNull();
  });

  it("accepts timestamps as dates", () => {
    const rows = compareSeries(range, [{ ...day("2026-12-01", 3, 30, 2), date: "2026-12-01T00:00:00Z" }]);
    expect(rows[0]!.clicks).toBe(3);
  });

  it("marks the provisional days for the shaded band", () => {
    const rows = compareSeries(range, [day("2026-12-01", 1, 10, 2), day("2026-12-02", 1, 10, 2), day("2026-12-03", 1, 10, 2, true)]);
    expect(rows.map((row) => row.provisional)).toEqual([false, false, true, false]);
    // To the end of the range: the day after has no data yet, and is not final either.
    expect(provisionalSpan(rows)).toEqual({ from: "2026-12-03", to: "2026-12-04" });
    expect(provisionalSpan(compareSeries(range, [day("2026-12-01", 1, 10, 2)]))).toBeNull();
  });
});

describe("summarize", () => {
  it("adds clicks and impressions and weights the position by impressions", () => {
    const totals = summarize([day("2026-12-01", 10, 1000, 2), day("2026-12-02", 0, 10, 50)]);
    expect(totals.clicks).toBe(10);
    expect(totals.impressions).toBe(1010);
    expect(totals.ctr).toBeCloseTo(10 / 1010);
    // Not (2 + 50) / 2: the day seen a thousand times counts more.
    expect(totals.position).toBeCloseTo((2 * 1000 + 50 * 10) / 1010);
  });

  it("has no ratio without impressions", () => {
    expect(summarize([])).toEqual({ clicks: null, impressions: null, ctr: null, position: null });
    expect(summarize([day("2026-12-01", 0, 0, 0)])).toMatchObject({ ctr: null, position: null });
  });
});

describe("previousIsComparable", () => {
  const days = (count: number) => Array.from({ length: count }, (_, i) => day(`2026-11-${String(i + 1).padStart(2, "0")}`, 1, 10, 2));

  it("compares only with a previous period synced on (nearly) as many days", () => {
    expect(previousIsComparable(days(28), days(28))).toBe(true);
    expect(previousIsComparable(days(28), days(26))).toBe(true);
    // A first sync of 28 days leaves the previous period with a day or two.
    expect(previousIsComparable(days(27), days(1))).toBe(false);
    expect(previousIsComparable([], [])).toBe(false);
  });
});
