/** A position change: places gained (up, green) or lost (down, red); nothing when unknown. */
export function ChangeArrow({ change, label }: { change: number | null | undefined; label: string }) {
  if (change === null || change === undefined) {
    return (
      <span className="text-slate-300" aria-label={`${label}: no change figure`}>
        —
      </span>
    );
  }
  if (change === 0) {
    return (
      <span className="text-slate-500" aria-label={`${label}: unchanged`}>
        =
      </span>
    );
  }
  const up = change > 0;
  return (
    <span
      className={up ? "text-emerald-600" : "text-red-600"}
      aria-label={`${label}: ${up ? "up" : "down"} ${Math.abs(change)}`}
      data-testid="change-arrow"
    >
      {up ? "▲" : "▼"} {Math.abs(change)}
    </span>
  );
}
