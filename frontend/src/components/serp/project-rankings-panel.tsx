import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import type { KeywordPublic, ProjectPublic } from "@/client";
import { Chart } from "@/components/charts/chart";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { SelectField, TextField } from "@/components/ui/form";
import { Pagination } from "@/components/ui/pagination";
import { EmptyState, QueryBoundary } from "@/components/ui/states";
import { Table, Td, Th, Tr } from "@/components/ui/table";
import { formatRelative } from "@/lib/format";
import { toastError, toastSuccess, toastWarning } from "@/lib/toast";
import { jobKeys } from "@/queries/jobs";
import { serpKeys, serpMutations, serpQueries, type KeywordFilters } from "@/queries/serp";
import { ChangeArrow } from "./change-arrow";
import { KeywordHistory } from "./position-chart";
import { providerLabel, SerpConnectionCard } from "./serp-connect-form";

const PAGE_SIZE = 25;
const DEVICES = [
  { value: "", label: "Any device" },
  { value: "desktop", label: "Desktop" },
  { value: "mobile", label: "Mobile" },
];

function Position({ keyword }: { keyword: KeywordPublic }) {
  if (keyword.status === "ranked") return <span className="font-semibold tabular-nums">{keyword.position}</span>;
  if (keyword.status === "not_in_top_n") return <span className="text-slate-500">Not in top</span>;
  if (keyword.status === "failed")
    return (
      <span title={keyword.error ?? undefined}>
        <Badge tone="red">Check failed</Badge>
      </span>
    );
  return <Badge tone="gray">Pending</Badge>;
}

function AddKeywordsForm({ projectId }: { projectId: string }) {
  const queryClient = useQueryClient();
  const [lines, setLines] = useState("");
  const [country, setCountry] = useState("US");
  const [language, setLanguage] = useState("en");
  const [device, setDevice] = useState<"desktop" | "mobile">("desktop");
  const add = useMutation({
    mutationFn: () => serpMutations.addLines(projectId, lines, { country, language, device }),
    onSuccess: (report) => {
      if (report.rejected.length) {
        const first = report.rejected.slice(0, 3).map((r) => `line ${r.line}: ${r.reason}`);
        toastWarning(`Added ${report.added}, rejected ${report.rejected_count ?? report.rejected.length}`, first.join("; "));
      } else {
        toastSuccess(`Added ${report.added} keywords`);
      }
      setLines("");
    },
    onError: (error) => toastError(error, "Could not add the keywords"),
    onSettled: () => queryClient.invalidateQueries({ queryKey: serpKeys.all }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate();
  };
  return (
    <form onSubmit={submit} className="grid gap-3" aria-label="Add keywords">
      <div>
        <label htmlFor="serp-lines" className="block text-sm font-medium text-slate-700">
          Keywords, one a line
        </label>
        <textarea
          id="serp-lines"
          value={lines}
          onChange={(event) => setLines(event.target.value)}
          rows={4}
          className="mt-1.5 block w-full rounded-md border-0 px-3 py-2 text-sm shadow-sm ring-1 ring-slate-300 ring-inset focus:ring-2 focus:ring-brand-600"
        />
      </div>
      <div className="grid grid-cols-3 gap-3">
        <TextField label="Country" value={country} maxLength={2} onChange={(e) => setCountry(e.target.value)} hint="ISO code, e.g. US" />
        <TextField label="Language" value={language} maxLength={2} onChange={(e) => setLanguage(e.target.value)} hint="e.g. en" />
        <SelectField
          label="Device"
          value={device}
          options={DEVICES.slice(1)}
          onChange={(e) => setDevice(e.target.value as "desktop" | "mobile")}
        />
      </div>
      <div>
        <Button type="submit" loading={add.isPending} disabled={!lines.trim()}>
          Add keywords
        </Button>
      </div>
    </form>
  );
}

function Visibility({ projectId }: { projectId: string }) {
  const visibility = useQuery(serpQueries.visibility(projectId));
  return (
    <Card>
      <CardHeader title="Visibility" description="Share of the keywords checked each day in the top 3, 10 and 100." />
      <CardBody>
        <QueryBoundary query={visibility}>
          {(data) => (
            <Chart
              title="Share of keywords in the top 3, 10 and 100 per day"
              kind="line"
              x="date"
              data={data.data.map((d) => ({ date: d.date, top3: d.top3 * 100, top10: d.top10 * 100, top100: d.top100 * 100 }))}
              series={[
                { key: "top3", label: "Top 3 (%)" },
                { key: "top10", label: "Top 10 (%)" },
                { key: "top100", label: "Top 100 (%)" },
              ]}
              formatX={(value) => new Date(String(value)).toLocaleDateString("en", { month: "short", day: "numeric" })}
              formatY={(value) => `${Math.round(value)}%`}
              emptyText="No rankings checked yet"
              height={220}
            />
          )}
        </QueryBoundary>
      </CardBody>
    </Card>
  );
}

export function ProjectRankingsPanel({ project }: { project: ProjectPublic }) {
  const queryClient = useQueryClient();
  const [filters, setFilters] = useState<KeywordFilters>({ sort: "position", order: "asc", offset: 0, limit: PAGE_SIZE });
  const [selected, setSelected] = useState<string | null>(null);
  const connection = useQuery(serpQueries.connection(project.id));
  const keywords = useQuery(serpQueries.keywords(project.id, filters));
  const invalidate = async () => {
    await queryClient.invalidateQueries({ queryKey: serpKeys.all });
    await queryClient.invalidateQueries({ queryKey: jobKeys.all });
  };
  const refresh = useMutation({
    mutationFn: () => serpMutations.refreshProject(project.id),
    onSuccess: () => toastSuccess("Rank refresh started", "Follow its progress in the jobs table."),
    onError: (error) => toastError(error, "Could not start the rank refresh"),
    onSettled: invalidate,
  });
  const refreshOne = useMutation({
    mutationFn: (keywordId: string) => serpMutations.refreshKeyword(keywordId),
    onSuccess: () => toastSuccess("Keyword check started"),
    onError: (error) => toastError(error, "Could not start the check"),
    onSettled: invalidate,
  });
  const remove = useMutation({
    mutationFn: (keywordId: string) => serpMutations.remove(project.id, keywordId),
    onError: (error) => toastError(error, "Could not delete the keyword"),
    onSettled: invalidate,
  });
  const setFilter = (change: Partial<KeywordFilters>) => setFilters((current) => ({ ...current, ...change, offset: 0 }));
  const connected = Boolean(connection.data);
  return (
    <div className="grid gap-6" data-testid="rankings-panel">
      <SerpConnectionCard projectId={project.id} />
      <Card>
        <CardHeader
          title="Rankings"
          description={
            connected
              ? `Checked daily through ${providerLabel(connection.data?.target ?? "")} (${connection.data?.account}).`
              : "Connect SerpApi or DataForSEO (Rank provider, above) to check positions."
          }
          actions={
            <Button variant="secondary" loading={refresh.isPending} disabled={!connected} onClick={() => refresh.mutate()}>
              Refresh rankings
            </Button>
          }
        />
        <CardBody className="flex flex-wrap items-end gap-3 border-b border-slate-100">
          <TextField label="Tag" value={filters.tag ?? ""} onChange={(e) => setFilter({ tag: e.target.value })} className="w-40" />
          <TextField
            label="Country"
            value={filters.country ?? ""}
            maxLength={2}
            onChange={(e) => setFilter({ country: e.target.value })}
            className="w-24"
          />
          <SelectField
            label="Device"
            value={filters.device ?? ""}
            options={DEVICES}
            onChange={(e) => setFilter({ device: (e.target.value || undefined) as KeywordFilters["device"] })}
          />
        </CardBody>
        <QueryBoundary
          query={keywords}
          isEmpty={(page) => page.count === 0 && !filters.tag && !filters.country && !filters.device}
          empty={<EmptyState title="No keywords yet" description="Add the searches you want to rank for below." />}
        >
          {(page) => (
            <>
              <Table aria-label="Keywords">
                <thead>
                  <tr>
                    <Th>Keyword</Th>
                    <Th className="text-right">Position</Th>
                    <Th className="text-right">1 day</Th>
                    <Th className="text-right">7 days</Th>
                    <Th className="text-right">30 days</Th>
                    <Th className="text-right">Best</Th>
                    <Th>URL</Th>
                    <Th>Checked</Th>
                    <Th />
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {page.data.map((keyword) => (
                    <Tr key={keyword.id} data-testid="keyword-row">
                      <Td>
                        <button
                          type="button"
                          className="font-medium text-slate-900 hover:text-brand-700 hover:underline"
                          onClick={() => setSelected(keyword.id)}
                        >
                          {keyword.text}
                        </button>
                        <div className="text-xs text-slate-500">
                          {keyword.country} · {keyword.language} · {keyword.device}
                          {keyword.location ? ` · ${keyword.location}` : ""}
                          {keyword.tags.length ? ` · ${keyword.tags.join(", ")}` : ""}
                        </div>
                      </Td>
                      <Td className="text-right">
                        <Position keyword={keyword} />
                      </Td>
                      <Td className="text-right tabular-nums">
                        <ChangeArrow change={keyword.change_1d} label="1 day" />
                      </Td>
                      <Td className="text-right tabular-nums">
                        <ChangeArrow change={keyword.change_7d} label="7 days" />
                      </Td>
                      <Td className="text-right tabular-nums">
                        <ChangeArrow change={keyword.change_30d} label="30 days" />
                      </Td>
                      <Td className="text-right tabular-nums">{keyword.best_position ?? "—"}</Td>
                      <Td className="max-w-64 truncate">
                        {keyword.url ? (
                          <a href={keyword.url} target="_blank" rel="noreferrer" className="text-brand-700 hover:underline" title={keyword.url}>
                            {keyword.url.replace(/^https?:\/\//, "")}
                          </a>
                        ) : (
                          "—"
                        )}
                      </Td>
                      <Td className="whitespace-nowrap text-slate-500">{formatRelative(keyword.checked_at)}</Td>
                      <Td className="whitespace-nowrap text-right">
                        <Button variant="ghost" size="sm" disabled={!connected} onClick={() => refreshOne.mutate(keyword.id)}>
                          Check
                        </Button>
                        <Button variant="ghost" size="sm" onClick={() => remove.mutate(keyword.id)} aria-label={`Delete ${keyword.text}`}>
                          Delete
                        </Button>
                      </Td>
                    </Tr>
                  ))}
                </tbody>
              </Table>
              <Pagination
                offset={filters.offset ?? 0}
                limit={PAGE_SIZE}
                count={page.count}
                onChange={(offset) => setFilters((current) => ({ ...current, offset }))}
              />
            </>
          )}
        </QueryBoundary>
      </Card>
      {selected && <KeywordHistory keywordId={selected} onClose={() => setSelected(null)} />}
      <div className="grid gap-6 xl:grid-cols-2">
        <Card>
          <CardHeader title="Add keywords" description="Duplicates and keywords over the project's limit are reported, not added." />
          <CardBody>
            <AddKeywordsForm projectId={project.id} />
          </CardBody>
        </Card>
        <Visibility projectId={project.id} />
      </div>
    </div>
  );
}
