import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import type { IssueDiffEntry } from "@/client";
import { EmptyState, QueryBoundary } from "@/components/ui/states";
import { cn } from "@/components/ui/cn";
import { formatNumber } from "@/lib/format";
import { auditQueries } from "@/queries/audits";
import { SeverityBadge } from "./severity";

function DiffColumn({ title, entries, tone, empty }: { title: string; entries: IssueDiffEntry[]; tone: string; empty: string }) {
  const total = entries.reduce((sum, entry) => sum + entry.count, 0);
  return (
    <section aria-label={title} className="rounded-lg ring-1 ring-slate-200">
      <header className={cn("flex items-center justify-between rounded-t-lg px-4 py-3", tone)}>
        <h3 className="text-sm font-semibold">{title}</h3>
        <span className="text-sm font-semibold tabular-nums">{formatNumber(total)}</span>
      </header>
      {entries.length === 0 ? (
        <p className="px-4 py-6 text-center text-sm text-slate-500">{empty}</p>
      ) : (
        <ul className="divide-y divide-slate-100">
          {entries.map((entry) => (
            <li key={entry.code} className="px-4 py-3">
              <div className="flex items-center gap-2">
                <SeverityBadge severity={entry.severity} />
                <span className="min-w-0 flex-1 truncate text-sm font-medium text-slate-900" title={entry.title}>
                  {entry.title}
                </span>
                <span className="text-xs tabular-nums text-slate-500">{formatNumber(entry.count)}</span>
              </div>
              {entry.urls.length > 0 && (
                <ul className="mt-1.5 space-y-0.5">
                  {entry.urls.slice(0, 3).map((url) => (
                    <li key={url} className="truncate text-xs text-slate-500" title={url}>
                      {url}
                    </li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function DiffPanel({ auditId }: { auditId: string }) {
  const diff = useQuery(auditQueries.diff(auditId));
  return (
    <QueryBoundary query={diff}>
      {(d) =>
        d.previous_audit_id == null ? (
          <EmptyState title="No earlier audit to compare with" description="Run another audit later to see what changed." />
        ) : (
          <div className="space-y-4">
            <p className="text-sm text-slate-600">
              Compared with{" "}
              <Link to={`/audits/${d.previous_audit_id}`} className="font-medium text-brand-700 hover:underline">
                the previous audit
              </Link>
              .
            </p>
            <div className="grid gap-4 lg:grid-cols-3">
              <DiffColumn title="New issues" entries={d.new} tone="bg-red-50 text-red-800" empty="No new issues." />
              <DiffColumn title="Fixed" entries={d.fixed} tone="bg-emerald-50 text-emerald-800" empty="Nothing fixed since." />
              <DiffColumn title="Still there" entries={d.persisting} tone="bg-slate-50 text-slate-700" empty="Nothing carried over." />
            </div>
          </div>
        )
      }
    </QueryBoundary>
  );
}
