const numberFormat = new Intl.NumberFormat("en");

export function formatNumber(value: number | null | undefined): string {
  return value == null ? "—" : numberFormat.format(value);
}

export function formatDateTime(value: string | null | undefined): string {
  if (!value) return "—";
  return new Date(value).toLocaleString("en", {
    dateStyle: "medium",
    timeStyle: "short",
  });
}

export function formatRelative(value: string | null | undefined, now = Date.now()): string {
  if (!value) return "—";
  const seconds = Math.round((now - new Date(value).getTime()) / 1000);
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

/** "1h 02m", "3m 05s", "12s", "840 ms". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

export function durationBetween(
  start: string | null | undefined,
  end: string | null | undefined,
  now = Date.now(),
): number | null {
  if (!start) return null;
  return (end ? new Date(end).getTime() : now) - new Date(start).getTime();
}

export function humanize(value: string): string {
  const text = value.replace(/[_-]+/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const currencyFormats = new Map<string, Intl.NumberFormat>();

/** An amount in an account's currency ("$1,234.50", "1.234,50 €" is left to the locale: the
 * dashboard writes English). An unknown or missing code falls back to a plain number with
 * the code after it, so a strange account never breaks the table. */
export function formatCurrency(value: number | null | undefined, currency: string | null | undefined): string {
  if (value == null) return "—";
  const code = (currency ?? "").toUpperCase();
  let format = currencyFormats.get(code);
  if (!format) {
    try {
      format = new Intl.NumberFormat("en", { style: "currency", currency: code });
    } catch {
      return `${new Intl.NumberFormat("en", { maximumFractionDigits: 2 }).format(value)}${code ? ` ${code}` : ""}`;
    }
    currencyFormats.set(code, format);
  }
  return format.format(value);
}

/** A ratio as a percentage: 0.0345 -> "3.45%". */
export function formatPercent(value: number | null | undefined, digits = 2): string {
  if (value == null || !Number.isFinite(value)) return "—";
  return `${(value * 100).toFixed(digits)}%`;
}

/** A number with at most `digits` decimals (average position: "4.3"). */
export function formatDecimal(value: number | null | undefined, digits = 1): string {
  if (value == null || !Number.isFinite(value)) return "—";
  return new Intl.NumberFormat("en", { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(value);
}

/** How a figure moved against the previous period: "+12.5%", "−3.0%", or null without a base. */
export function formatChange(current: number, previous: number | null | undefined): string | null {
  if (previous == null || previous === 0 || !Number.isFinite(previous)) return null;
  const change = ((current - previous) / Math.abs(previous)) * 100;
  const sign = change > 0 ? "+" : change < 0 ? "−" : "±";
  return `${sign}${Math.abs(change).toFixed(1)}%`;
}

/** An ISO day ("2026-12-06") as "Dec 6" (or "Dec 6, 2026" with the year). */
export function formatDay(value: unknown, withYear = false): string {
  if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}/.test(value)) return String(value ?? "");
  return new Date(`${value.slice(0, 10)}T00:00:00Z`).toLocaleDateString("en", {
    month: "short",
    day: "numeric",
    year: withYear ? "numeric" : undefined,
    timeZone: "UTC",
  });
}
