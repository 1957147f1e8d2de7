import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import type { IssueGroupPublic, Severity } from "@/client";
import { Button } from "@/components/ui/button";
import { SelectField } from "@/components/ui/form";
import { EmptyState, QueryBoundary } from "@/components/ui/states";
import { formatNumber, humanize } from "@/lib/format";
import { auditQueries } from "@/queries/audits";
import { SEVERITIES, SeverityBadge } from "./severity";

const URLS_PAGE = 10;

function detailText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .filter(([, value]) => value !== null && value !== "" && !(Array.isArray(value) && value.length === 0))
    .map(([key, value]) => `${humanize(key)}: ${Array.isArray(value) ? value.join(", ") : String(value)}`)
    .join(" · ");
}

/** The URLs one check flagged, a page at a time. */
function AffectedUrls({ auditId, group }: { auditId: string; group: IssueGroupPublic }) {
  const [offset, setOffset] = useState(0);
  const page = useQuery({
    ...auditQueries.issues(auditId, { code: group.code, urlsLimit: URLS_PAGE, urlsOffset: offset }),
    enabled: offset > 0,
  });
  const urls = offset === 0 ? group.urls : (page.data?.data[0]?.urls ?? []);
  return (
    <div>
      <ul className="divide-y divide-slate-100 rounded-md ring-1 ring-slate-200" aria-label={`Pages with: ${group.title}`}>
        {urls.map((item) => (
          <li key={item.url} className="px-3 py-2 text-sm">
            <a href={item.url} target="_blank" rel="noreferrer" className="break-all text-brand-700 hover:underline">
              {item.url}
            </a>
            {Object.keys(item.details).length > 0 && (
              <p className="mt-0.5 text-xs break-words text-slate-500">{detailText(item.details)}</p>
            )}
          </li>
        ))}
      </ul>
      {group.count > URLS_PAGE && (
        <div className="mt-2 flex items-center justify-between text-xs text-slate-500">
          <span>
            {offset + 1}–{Math.min(offset + URLS_PAGE, group.count)} of {formatNumber(group.count)} pages
          </span>
          <div className="flex gap-2">
            <Button size="sm" variant="secondary" disabled={offset === 0} onClick={() => setOffset(offset - URLS_PAGE)}>
              Previous
            </Button>
            <Button
              size="sm"
              variant="secondary"
              disabled={offset + URLS_PAGE >= group.count}
              loading={page.isFetching}
              onClick={() => setOffset(offset + URLS_PAGE)}
            >
              Next
            </Button>
          </div>
        </div>
      )}
    </div>
  );
}

function IssueGroup({ auditId, group }: { auditId: string; group: IssueGroupPublic }) {
  return (
    <details className="group rounded-lg ring-1 ring-slate-200 open:shadow-sm" data-testid="issue-group" data-code={group.code}>
      <summary className="flex cursor-pointer list-none items-center gap-3 px-4 py-3 hover:bg-slate-50">
        <svg viewBox="0 0 20 20" className="size-4 shrink-0 text-slate-400 transition group-open:rotate-90" aria-hidden="true">
          <path d="M7 5l5 5-5 5" fill="none" stroke="currentColor" strokeWidth="2" />
        </svg>
        <SeverityBadge severity={group.severity} />
        <span className="min-w-0 flex-1 truncate text-sm font-medium text-slate-900">{group.title}</span>
        <span className="hidden font-mono text-xs text-slate-400 sm:inline">{group.code}</span>
        <span className="rounded-full bg-slate-100 px-2 text-xs font-medium tabular-nums text-slate-700">
          {formatNumber(group.count)}
        </span>
      </summary>
      <div className="space-y-4 border-t border-slate-100 px-4 py-4">
        <div className="grid gap-4 md:grid-cols-2">
          <div>
            <h4 className="text-xs font-semibold tracking-wide text-slate-500 uppercase">What it means</h4>
            <p className="mt-1 text-sm text-slate-700">{group.description}</p>
          </div>
          <div>
            <h4 className="text-xs font-semibold tracking-wide text-slate-500 uppercase">How to fix it</h4>
            <p className="mt-1 text-sm text-slate-700">{group.how_to_fix}</p>
          </div>
        </div>
        <AffectedUrls auditId={auditId} group={group} />
      </div>
    </details>
  );
}

export function IssuesPanel({ auditId }: { auditId: string }) {
  const [severity, setSeverity] = useState<Severity | "">("");
  const issues = useQuery(auditQueries.issues(auditId, { severity: severity || undefined, urlsLimit: URLS_PAGE }));
  return (
    <div className="space-y-4">
      <SelectField
        label="Severity"
        value={severity}
        onChange={(event) => setSeverity(event.target.value as Severity | "")}
        options={[{ value: "", label: "All severities" }, ...SEVERITIES.map((s) => ({ value: s, label: humanize(s) }))]}
        className="w-44"
      />
      <QueryBoundary
        query={issues}
        isEmpty={(page) => page.count === 0}
        empty={<EmptyState title={severity ? `No ${severity}s` : "No issues found"} description="Nothing for the checks to report here." />}
      >
        {(page) => (
          <div className="space-y-2">
            {page.data.map((group) => (
              <IssueGroup key={group.code} auditId={auditId} group={group} />
            ))}
          </div>
        )}
      </QueryBoundary>
    </div>
  );
}
