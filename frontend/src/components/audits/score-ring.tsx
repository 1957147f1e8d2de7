/** The audit's 0-100 score as a ring, coloured by how healthy the site is. */
export function ScoreRing({ score, size = 112 }: { score: number | null | undefined; size?: number }) {
  const radius = 42;
  const circumference = 2 * Math.PI * radius;
  const value = score ?? 0;
  const color = score == null ? "#cbd5e1" : value >= 80 ? "#10b981" : value >= 50 ? "#f59e0b" : "#ef4444";
  return (
    <div className="relative" style={{ width: size, height: size }} role="img" aria-label={score == null ? "No score yet" : `Score ${value} out of 100`}>
      <svg viewBox="0 0 100 100" className="size-full -rotate-90">
        <circle cx="50" cy="50" r={radius} fill="none" stroke="#e2e8f0" strokeWidth="9" />
        <circle
          cx="50"
          cy="50"
          r={radius}
          fill="none"
          stroke={color}
          strokeWidth="9"
          strokeLinecap="round"
          strokeDasharray={circumference}
          strokeDashoffset={circumference * (1 - value / 100)}
          className="transition-[stroke-dashoffset] duration-1000 ease-out"
        />
      </svg>
      <div className="absolute inset-0 flex flex-col items-center justify-center">
        <span className="text-3xl font-semibold tracking-tight text-slate-900" data-testid="audit-score">
          {score ?? "—"}
        </span>
        <span className="text-xs text-slate-500">score</span>
      </div>
    </div>
  );
}
