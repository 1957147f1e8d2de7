import { formatChange, formatCurrency, formatDay, formatDecimal, formatPercent } from "./format";

describe("formatting of provider figures", () => {
  it("writes amounts in the account's currency", () => {
    expect(formatCurrency(1234.5, "USD")).toBe("$1,234.50");
    expect(formatCurrency(1234.5, "eur")).toBe("€1,234.50");
    expect(formatCurrency(1500, "JPY")).toBe("¥1,500");
    expect(formatCurrency(null, "USD")).toBe("—");
  });

  it("falls back to a plain number when the currency is unknown or missing", () => {
    expect(formatCurrency(12.345, "NOT-A-CODE")).toBe("12.35 NOT-A-CODE");
    expect(formatCurrency(12, null)).toBe("12");
  });

  it("writes ratios, positions and changes", () => {
    expect(formatPercent(0.03456)).toBe("3.46%");
    expect(formatPercent(null)).toBe("—");
    expect(formatDecimal(4.26)).toBe("4.3");
    expect(formatChange(110, 100)).toBe("+10.0%");
    expect(formatChange(90, 100)).toBe("−10.0%");
    expect(formatChange(5, 0)).toBeNull();
  });

  it("writes ISO days without shifting them to the local time zone", () => {
    expect(formatDay("2026-12-06")).toBe("Dec 6");
    expect(formatDay("2026-01-01", true)).toBe("Jan 1, 2026");
  });
});
