import { useQuery } from "@tanstack/react-query";
import { useDeferredValue, useState } from "react";
import { Badge } from "@/components/ui/badge";
import { SelectField, TextField } from "@/components/ui/form";
import { Pagination } from "@/components/ui/pagination";
import { EmptyState, QueryBoundary } from "@/components/ui/states";
import { Table, Td, Th, Tr } from "@/components/ui/table";
import { formatNumber } from "@/lib/format";
import { auditQueries } from "@/queries/audits";
import { statusTone } from "./severity";

const PAGE_SIZE = 25;

const STATUS_OPTIONS = [
  { value: "", label: "Any status" },
  { value: "2xx", label: "2xx success" },
  { value: "3xx", label: "3xx redirect" },
  { value: "4xx", label: "4xx client error" },
  { value: "5xx", label: "5xx server error" },
  { value: "error", label: "Fetch error" },
  { value: "blocked", label: "Blocked by robots.txt" },
];

export function PagesPanel({ auditId, issueCodes }: { auditId: string; issueCodes: string[] }) {
  const [status, setStatus] = useState("");
  const [issueCode, setIssueCode] = useState("");
  const [search, setSearch] = useState("");
  const [offset, setOffset] = useState(0);
  const urlContains = useDeferredValue(search.trim());
  const pages = useQuery(auditQueries.pages(auditId, { status, issueCode, urlContains, offset, limit: PAGE_SIZE }));
  const reset = <T,>(set: (value: T) => void) => (value: T) => {
    set(value);
    setOffset(0);
  };
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end gap-3" role="group" aria-label="Filter pages">
        <SelectField label="Status" value={status} onChange={(e) => reset(setStatus)(e.target.value)} options={STATUS_OPTIONS} className="w-48" />
        <SelectField
          label="Issue"
          value={issueCode}
          onChange={(e) => reset(setIssueCode)(e.target.value)}
          options={[{ value: "", label: "Any issue" }, ...issueCodes.map((code) => ({ value: code, label: code }))]}
          className="w-56"
        />
        <TextField
          label="URL contains"
          type="search"
          value={search}
          onChange={(e) => reset(setSearch)(e.target.value)}
          placeholder="/blog/"
          className="w-64 [&_label]:text-xs [&_label]:text-slate-600 [&_input]:mt-1 [&_input]:py-1.5"
        />
      </div>
      <div className="overflow-hidden rounded-lg ring-1 ring-slate-200">
        <QueryBoundary
          query={pages}
          isEmpty={(page) => page.count === 0}
          empty={<EmptyState title="No pages match" description="Change the filters to see more pages." />}
        >
          {(page) => (
            <>
              <Table aria-label="Pages">
                <thead className="bg-slate-50">
                  <tr>
                    <Th>URL</Th>
                    <Th>Status</Th>
                    <Th className="text-right">Depth</Th>
                    <Th className="text-right">Response</Th>
                    <Th className="text-right">Words</Th>
                    <Th>Issues</Th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {page.data.map((row) => (
                    <Tr key={row.id} data-testid="page-row">
                      <Td className="max-w-md">
                        <a href={row.url} target="_blank" rel="noreferrer" className="block truncate font-medium text-slate-900 hover:text-brand-700" title={row.url}>
                          {row.url}
                        </a>
                        <span className="block truncate text-xs text-slate-500">{row.title || <em>No title</em>}</span>
                      </Td>
                      <Td>
                        <Badge tone={statusTone(row.status_code)}>{row.status_code ?? row.error ?? "—"}</Badge>
                      </Td>
                      <Td className="text-right tabular-nums">{row.depth}</Td>
                      <Td className="text-right tabular-nums whitespace-nowrap">
                        {row.response_time_ms == null ? "—" : `${Math.round(row.response_time_ms)} ms`}
                      </Td>
                      <Td className="text-right tabular-nums">{formatNumber(row.word_count ?? 0)}</Td>
                      <Td>
                        <div className="flex max-w-xs flex-wrap gap-1">
                          {(row.issue_codes ?? []).slice(0, 4).map((code) => (
                            <span key={code} className="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-[11px] text-slate-600">
                              {code}
                            </span>
                          ))}
                          {(row.issue_codes?.length ?? 0) > 4 && (
                            <span className="text-xs text-slate-500">+{(row.issue_codes?.length ?? 0) - 4}</span>
                          )}
                        </div>
                      </Td>
                    </Tr>
                  ))}
                </tbody>
              </Table>
              <Pagination offset={offset} limit={PAGE_SIZE} count={page.count} onChange={setOffset} />
            </>
          )}
        </QueryBoundary>
      </div>
    </div>
  );
}
