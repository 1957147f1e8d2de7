import { addDays, dayCount, daysOf, isValidRange, presetRange, previousRange } from "./date-range";

describe("date ranges", () => {
  it("counts both ends and crosses months and leap days", () => {
    expect(dayCount({ start: "2024-02-27", end: "2024-03-01" })).toBe(4);
    expect(daysOf({ start: "2024-02-28", end: "2024-03-01" })).toEqual(["2024-02-28", "2024-02-29", "2024-03-01"]);
    expect(dayCount({ start: "2024-03-02", end: "2024-03-01" })).toBe(0);
  });

  it("ends a preset today and includes today", () => {
    expect(presetRange(28, "2026-12-06")).toEqual({ start: "2026-11-09", end: "2026-12-06" });
    expect(dayCount(presetRange(7, "2026-12-06"))).toBe(7);
  });

  it("compares with the period of the same length just before", () => {
    expect(previousRange({ start: "2026-11-09", end: "2026-12-06" })).toEqual({ start: "2026-10-12", end: "2026-11-08" });
  });

  it("is not thrown off by daylight saving time", () => {
    // Europe changes its clocks on 2026-10-25; the arithmetic is in UTC.
    expect(addDays("2026-10-24", 2)).toBe("2026-10-26");
  });

  it("refuses reversed or malformed ranges", () => {
    expect(isValidRange({ start: "2026-12-06", end: "2026-12-01" })).toBe(false);
    expect(isValidRange({ start: "", end: "2026-12-01" })).toBe(false);
    expect(isValidRange({ start: "2026-12-01", end: "2026-12-01" })).toBe(true);
  });
});
