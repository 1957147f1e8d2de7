import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Card, CardHeader } from "@/components/ui/card";
import { Pagination } from "@/components/ui/pagination";
import { EmptyState, QueryBoundary } from "@/components/ui/states";
import { Table, Td, Th, Tr } from "@/components/ui/table";
import type { DateRange } from "@/lib/date-range";
import { gscQueries, type GscRowKind, type GscSegment, type GscSort } from "@/queries/gsc";
import { GSC_METRIC_INFO } from "./metrics";
import { GSC_METRICS } from "./series";

const PAGE_SIZE = 10;

/** Waits until typing stops before a search is sent. */
function useDebounced<T>(value: T, delayMs = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return settled;
}

const COPY: Record<GscRowKind, { title: string; column: string; search: string; noun: string }> = {
  queries: { title: "Top queries", column: "Query", search: "Search queries", noun: "queries" },
  pages: { title: "Top pages", column: "Page", search: "Search pages", noun: "pages" },
};

/** The top queries or pages of the range: sortable by any figure, searchable, paginated; a
 * row opens its own chart. */
export function TopTable({
  projectId,
  kind,
  range,
  segment,
  onOpen,
}: {
  projectId: string;
  kind: GscRowKind;
  range: DateRange;
  segment: GscSegment;
  onOpen: (key: string) => void;
}) {
  const copy = COPY[kind];
  const [search, setSearch] = useState("");
  const [sort, setSort] = useState<{ by: GscSort; order: "asc" | "desc" }>({ by: "clicks", order: "desc" });
  const [offset, setOffset] = useState(0);
  const searched = useDebounced(search.trim());
  // A new search, range or segment starts again from the first page.
  const [filtersSeen, setFiltersSeen] = useState({ searched, range, segment });
  if (filtersSeen.searched !== searched || filtersSeen.range !== range || filtersSeen.segment !== segment) {
    setFiltersSeen({ searched, range, segment });
    setOffset(0);
  }
  const rows = useQuery(
    gscQueries.rows(projectId, kind, range, { ...segment, search: searched || undefined, sort: sort.by, order: sort.order, offset, limit: PAGE_SIZE }),
  );
  const sortBy = (by: GscSort) => {
    // Position sorts best (lowest) first; the other figures largest first.
    const first = by === "position" ? "asc" : "desc";
    setSort((current) => (current.by === by ? { by, order: current.order === "asc" ? "desc" : "asc" } : { by, order: first }));
    setOffset(0);
  };
  return (
    <Card>
      <CardHeader
        title={copy.title}
        actions={
          <input
            type="search"
            aria-label={copy.search}
            placeholder={`${copy.search}…`}
            value={search}
            onChange={(event) => setSearch(event.target.value)}
            className="w-56 rounded-md border-0 px-3 py-1.5 text-sm shadow-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-brand-600"
          />
        }
      />
      <QueryBoundary
        query={rows}
        isEmpty={(page) => page.count === 0}
        empty={<EmptyState title={searched ? `No ${copy.noun} match “${searched}”` : `No ${copy.noun} in this range`} />}
      >
        {(page) => (
          <>
            <Table aria-label={copy.title}>
              <thead>
                <tr>
                  <Th>{copy.column}</Th>
                  {GSC_METRICS.map((metric) => (
                    <Th key={metric} className="text-right" aria-sort={sort.by === metric ? (sort.order === "asc" ? "ascending" : "descending") : "none"}>
                      <button type="button" className="uppercase hover:text-slate-800" onClick={() => sortBy(metric)}>
                        {GSC_METRIC_INFO[metric].label}
                        {sort.by === metric && <span aria-hidden="true">{sort.order === "asc" ? " ↑" : " ↓"}</span>}
                      </button>
                    </Th>
                  ))}
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {page.data.map((row) => {
                  const key = "query" in row ? row.query : row.page;
                  return (
                    <Tr key={key} data-testid={`gsc-${kind}-row`}>
                      <Td className="max-w-md truncate">
                        <button type="button" className="truncate text-left font-medium text-slate-900 hover:text-brand-700 hover:underline" onClick={() => onOpen(key)} title={key}>
                          {key}
                        </button>
                      </Td>
                      {GSC_METRICS.map((metric) => (
                        <Td key={metric} className="text-right tabular-nums">
                          {GSC_METRIC_INFO[metric].format(row[metric])}
                        </Td>
                      ))}
                    </Tr>
                  );
                })}
              </tbody>
            </Table>
            <Pagination offset={offset} limit={PAGE_SIZE} count={page.count} onChange={setOffset} />
          </>
        )}
      </QueryBoundary>
    </Card>
  );
}
