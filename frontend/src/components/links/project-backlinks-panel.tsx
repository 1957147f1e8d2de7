import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ChangeEvent } from "react";
import { useRef, useState } from "react";
import type { LinkImportPublic, ProjectPublic } from "@/client";
import { Chart } from "@/components/charts/chart";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { SelectField, TextField } from "@/components/ui/form";
import { Pagination } from "@/components/ui/pagination";
import { EmptyState, QueryBoundary } from "@/components/ui/states";
import { Table, Td, Th, Tr } from "@/components/ui/table";
import { formatDateTime, formatNumber, humanize } from "@/lib/format";
import { toastError, toastSuccess } from "@/lib/toast";
import { downloadRejectedRows, linkKeys, linkMutations, linkQueries } from "@/queries/links";
import type { BacklinkFilters } from "@/queries/links";

const PAGE_SIZE = 25;
const TIMELINE_DAYS = 182;

const FOLLOW_OPTIONS = [
  { value: "", label: "All links" },
  { value: "dofollow", label: "Followed" },
  { value: "nofollow", label: "Nofollow" },
];
const STATE_OPTIONS = [
  { value: "", label: "Live and lost" },
  { value: "live", label: "Live" },
  { value: "lost", label: "Lost" },
];

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function statusTone(status: string | null | undefined) {
  if (status === "completed") return "green" as const;
  if (status === "failed") return "red" as const;
  if (status === "cancelled") return "violet" as const;
  return "blue" as const;
}

/** The upload button: a hidden file input, the import's job started on choice. */
function ImportButton({ projectId }: { projectId: string }) {
  const input = useRef<HTMLInputElement>(null);
  const queryClient = useQueryClient();
  const upload = useMutation({
    mutationFn: linkMutations.upload,
    onSuccess: () => toastSuccess("Import started", "The report appears in the import history when it is done."),
    onError: (error) => toastError(error, "Could not import the file"),
    onSettled: () => queryClient.invalidateQueries({ queryKey: linkKeys.all }),
  });
  const choose = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (file) upload.mutate({ projectId, file });
    event.target.value = "";
  };
  return (
    <>
      <input ref={input} type="file" accept=".csv,.tsv,.txt,text/csv" className="hidden" onChange={choose} data-testid="links-file" />
      <Button onClick={() => input.current?.click()} loading={upload.isPending}>
        Import backlinks
      </Button>
    </>
  );
}

function BacklinksTable({ projectId }: { projectId: string }) {
  const [filters, setFilters] = useState<BacklinkFilters>({ offset: 0, limit: PAGE_SIZE });
  const backlinks = useQuery(linkQueries.backlinks(projectId, filters));
  const update = (change: Partial<BacklinkFilters>) => setFilters((current) => ({ ...current, ...change, offset: 0 }));
  return (
    <>
      <div className="grid gap-3 border-b border-slate-100 px-5 py-3 sm:grid-cols-4">
        <TextField label="Referring domain" placeholder="example.org" onChange={(e) => update({ referringDomain: e.target.value })} />
        <TextField label="Anchor text contains" onChange={(e) => update({ anchor: e.target.value })} />
        <SelectField
          label="Follow"
          options={FOLLOW_OPTIONS}
          onChange={(e) => update({ nofollow: e.target.value === "" ? undefined : e.target.value === "nofollow" })}
        />
        <SelectField
          label="State"
          options={STATE_OPTIONS}
          onChange={(e) => update({ lost: e.target.value === "" ? undefined : e.target.value === "lost" })}
        />
      </div>
      <QueryBoundary
        query={backlinks}
        isEmpty={(page) => page.count === 0}
        empty={<EmptyState title="No backlinks" description="Import an Ahrefs, Semrush, Majestic or Search Console export." />}
      >
        {(page) => (
          <>
            <Table aria-label="Backlinks">
              <thead>
                <tr>
                  <Th>Source</Th>
                  <Th>Anchor</Th>
                  <Th>Target</Th>
                  <Th>Flags</Th>
                  <Th>First seen</Th>
                  <Th>Last seen</Th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {page.data.map((link) => (
                  <Tr key={`${link.source_url} ${link.target_url}`} data-testid="backlink-row">
                    <Td className="max-w-xs truncate" title={link.source_url}>
                      <span className="font-medium text-slate-900">{link.referring_domain}</span>
                      <span className="block truncate text-xs text-slate-500">{link.source_url}</span>
                    </Td>
                    <Td className="max-w-[12rem] truncate" title={link.anchor ?? ""}>
                      {link.anchor ?? "—"}
                    </Td>
                    <Td className="max-w-[12rem] truncate text-xs" title={link.target_url}>
                      {link.target_url}
                    </Td>
                    <Td className="space-x-1 whitespace-nowrap">
                      {link.nofollow && <Badge tone="gray">nofollow</Badge>}
                      {link.ugc && <Badge tone="amber">ugc</Badge>}
                      {link.sponsored && <Badge tone="violet">sponsored</Badge>}
                      {link.lost && <Badge tone="red">lost</Badge>}
                    </Td>
                    <Td className="whitespace-nowrap tabular-nums">{link.first_seen ?? "—"}</Td>
                    <Td className="whitespace-nowrap tabular-nums">{link.last_seen ?? "—"}</Td>
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
    </>
  );
}

function NewAndLost({ projectId }: { projectId: string }) {
  const [range] = useState(() => {
    const end = new Date();
    return { start: isoDay(new Date(end.getTime() - TIMELINE_DAYS * 86_400_000)), end: isoDay(end) };
  });
  const timeline = useQuery(linkQueries.timeline(projectId, range.start, range.end));
  return (
    <Card>
      <CardHeader title="New and lost links" description="Per week, over the last six months." />
      <CardBody>
        <QueryBoundary query={timeline}>
          {(data) => (
            <Chart
              title="New and lost backlinks per week"
              kind="bar"
              x="start"
              data={data.data.map((point) => ({ start: point.start, new: point.new, lost: point.lost }))}
              series={[
                { key: "new", label: "New", color: "#10b981" },
                { key: "lost", label: "Lost", color: "#ef4444" },
              ]}
              formatX={(value) => new Date(String(value)).toLocaleDateString("en", { month: "short", day: "numeric" })}
              height={200}
            />
          )}
        </QueryBoundary>
      </CardBody>
    </Card>
  );
}

function TopLists({ projectId }: { projectId: string }) {
  const domains = useQuery(linkQueries.domains(projectId, 0, 10));
  const anchors = useQuery(linkQueries.anchors(projectId, 10));
  return (
    <div className="grid gap-6 md:grid-cols-2 2xl:grid-cols-1">
      <Card>
        <CardHeader title="Referring domains" description="Most links first." />
        <QueryBoundary query={domains} isEmpty={(page) => page.count === 0} empty={<EmptyState title="None yet" />}>
          {(page) => (
            <Table aria-label="Referring domains">
              <thead>
                <tr>
                  <Th>Domain</Th>
                  <Th className="text-right">Links</Th>
                  <Th className="text-right">Followed</Th>
                  <Th className="text-right">Lost</Th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {page.data.map((domain) => (
                  <Tr key={domain.domain}>
                    <Td className="max-w-[14rem] truncate font-medium text-slate-900">{domain.domain}</Td>
                    <Td className="text-right tabular-nums">{formatNumber(domain.links)}</Td>
                    <Td className="text-right tabular-nums">{formatNumber(domain.dofollow_links)}</Td>
                    <Td className="text-right tabular-nums">{formatNumber(domain.lost_links)}</Td>
                  </Tr>
                ))}
              </tbody>
            </Table>
          )}
        </QueryBoundary>
      </Card>
      <Card>
        <CardHeader title="Top anchors" />
        <QueryBoundary query={anchors} isEmpty={(data) => data.data.length === 0} empty={<EmptyState title="None yet" />}>
          {(data) => (
            <Table aria-label="Top anchors">
              <thead>
                <tr>
                  <Th>Anchor</Th>
                  <Th className="text-right">Links</Th>
                  <Th className="text-right">Domains</Th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {data.data.map((anchor) => (
                  <Tr key={anchor.anchor}>
                    <Td className="max-w-[14rem] truncate">{anchor.anchor || <em className="text-slate-400">no text</em>}</Td>
                    <Td className="text-right tabular-nums">{formatNumber(anchor.links)}</Td>
                    <Td className="text-right tabular-nums">{formatNumber(anchor.referring_domains)}</Td>
                  </Tr>
                ))}
              </tbody>
            </Table>
          )}
        </QueryBoundary>
      </Card>
    </div>
  );
}

function ImportRow({ row }: { row: LinkImportPublic }) {
  const download = () => downloadRejectedRows(row.id, row.file_name).catch((error) => toastError(error, "Download failed"));
  return (
    <Tr data-testid="link-import-row">
      <Td className="whitespace-nowrap">{formatDateTime(row.created_at)}</Td>
      <Td className="max-w-[12rem] truncate" title={row.file_name}>
        {row.file_name}
      </Td>
      <Td>{row.format_label}</Td>
      <Td>
        <Badge tone={statusTone(row.status)}>{humanize(row.status ?? "done")}</Badge>
      </Td>
      <Td className="text-right tabular-nums">{formatNumber(row.accepted)}</Td>
      <Td className="text-right tabular-nums">
        {row.rejected ? (
          <button type="button" className="text-red-600 hover:underline" onClick={() => void download()}>
            {formatNumber(row.rejected)}
          </button>
        ) : (
          "0"
        )}
      </Td>
      <Td className="text-right tabular-nums">{formatNumber(row.new)}</Td>
      <Td className="text-right tabular-nums">{formatNumber(row.updated)}</Td>
    </Tr>
  );
}

function ImportHistory({ projectId }: { projectId: string }) {
  const [offset, setOffset] = useState(0);
  const imports = useQuery(linkQueries.imports(projectId, offset, 5));
  return (
    <Card>
      <CardHeader title="Imports" description="Each file's report; rejected rows download as CSV." />
      <QueryBoundary query={imports} isEmpty={(page) => page.count === 0} empty={<EmptyState title="No imports yet" />}>
        {(page) => (
          <>
            <Table aria-label="Backlink imports">
              <thead>
                <tr>
                  <Th>Uploaded</Th>
                  <Th>File</Th>
                  <Th>Format</Th>
                  <Th>Status</Th>
                  <Th className="text-right">Accepted</Th>
                  <Th className="text-right">Rejected</Th>
                  <Th className="text-right">New</Th>
                  <Th className="text-right">Updated</Th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {page.data.map((row) => (
                  <ImportRow key={row.id} row={row} />
                ))}
              </tbody>
            </Table>
            <Pagination offset={offset} limit={5} count={page.count} onChange={setOffset} />
          </>
        )}
      </QueryBoundary>
    </Card>
  );
}

/** The project's backlinks: the table with its filters, new and lost links over time,
 * referring domains, top anchors and the import history. */
export function ProjectBacklinksPanel({ project }: { project: ProjectPublic }) {
  return (
    <div className="grid gap-6 2xl:grid-cols-5">
      <div className="space-y-6 2xl:col-span-3">
        <Card>
          <CardHeader
            title="Backlinks"
            description="Merged from every import: first and last seen across them."
            actions={<ImportButton projectId={project.id} />}
          />
          <BacklinksTable projectId={project.id} />
        </Card>
        <ImportHistory projectId={project.id} />
      </div>
      <div className="space-y-6 2xl:col-span-2">
        <NewAndLost projectId={project.id} />
        <TopLists projectId={project.id} />
      </div>
    </div>
  );
}
