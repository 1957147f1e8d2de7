import { keepPreviousData, queryOptions } from "@tanstack/react-query";
import {
  linksBacklinksTimeline,
  linksImportLinks,
  linksListBacklinks,
  linksListImports,
  linksListReferringDomains,
  linksListTopAnchors,
  linksReadImport,
} from "@/client";
import { client } from "@/client/client.gen";
import { ApiError, getToken, unwrap } from "@/lib/api";
import { isActive } from "@/lib/job-state";

export type BacklinkFilters = {
  referringDomain?: string;
  anchor?: string;
  nofollow?: boolean;
  lost?: boolean;
  offset?: number;
  limit?: number;
};

export const linkKeys = {
  all: ["links"] as const,
  backlinks: (projectId: string, filters: BacklinkFilters) => ["links", projectId, "backlinks", filters] as const,
  domains: (projectId: string, offset: number, limit: number) => ["links", projectId, "domains", { offset, limit }] as const,
  anchors: (projectId: string, limit: number) => ["links", projectId, "anchors", limit] as const,
  timeline: (projectId: string, start: string, end: string) => ["links", projectId, "timeline", { start, end }] as const,
  imports: (projectId: string, offset: number, limit: number) => ["links", projectId, "imports", { offset, limit }] as const,
  report: (importId: string) => ["links", "import", importId] as const,
};

export const linkQueries = {
  backlinks: (projectId: string, filters: BacklinkFilters) =>
    queryOptions({
      queryKey: linkKeys.backlinks(projectId, filters),
      queryFn: () =>
        unwrap(
          linksListBacklinks({
            path: { project_id: projectId },
            query: {
              referring_domain: filters.referringDomain || undefined,
              anchor: filters.anchor || undefined,
              nofollow: filters.nofollow,
              lost: filters.lost,
              offset: filters.offset ?? 0,
              limit: filters.limit ?? 25,
            },
          }),
        ),
      placeholderData: keepPreviousData,
    }),
  domains: (projectId: string, offset = 0, limit = 10) =>
    queryOptions({
      queryKey: linkKeys.domains(projectId, offset, limit),
      queryFn: () => unwrap(linksListReferringDomains({ path: { project_id: projectId }, query: { offset, limit } })),
      placeholderData: keepPreviousData,
    }),
  anchors: (projectId: string, limit = 10) =>
    queryOptions({
      queryKey: linkKeys.anchors(projectId, limit),
      queryFn: () => unwrap(linksListTopAnchors({ path: { project_id: projectId }, query: { limit } })),
    }),
  timeline: (projectId: string, start: string, end: string) =>
    queryOptions({
      queryKey: linkKeys.timeline(projectId, start, end),
      queryFn: () =>
        unwrap(linksBacklinksTimeline({ path: { project_id: projectId }, query: { start, end, interval: "week" } })),
    }),
  imports: (projectId: string, offset = 0, limit = 5) =>
    queryOptions({
      queryKey: linkKeys.imports(projectId, offset, limit),
      queryFn: () => unwrap(linksListImports({ path: { project_id: projectId }, query: { offset, limit } })),
      placeholderData: keepPreviousData,
      // An import in progress fills in its report when its job ends.
      refetchInterval: (query) => (query.state.data?.data.some((row) => isActive(row.status ?? undefined)) ? 3000 : false),
    }),
  report: (importId: string) =>
    queryOptions({
      queryKey: linkKeys.report(importId),
      queryFn: () => unwrap(linksReadImport({ path: { import_id: importId } })),
    }),
};

export const linkMutations = {
  upload: ({ projectId, file }: { projectId: string; file: File }) =>
    unwrap(linksImportLinks({ path: { project_id: projectId }, body: { file } })),
};

/** Downloads an import's rejected rows (the API wants the bearer token, which a plain link
 * cannot send). */
export async function downloadRejectedRows(importId: string, fileName: string): Promise<void> {
  const base = client.getConfig().baseUrl ?? "";
  const response = await fetch(`${base}/api/v1/links/imports/${importId}/rejected.csv`, {
    headers: { Authorization: `Bearer ${getToken() ?? ""}` },
  });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { detail?: unknown };
    throw new ApiError(response.status, body.detail);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = `${fileName.replace(/\.[^.]*$/, "") || "import"}-rejected.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
