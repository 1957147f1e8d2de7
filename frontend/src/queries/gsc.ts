import { keepPreviousData, queryOptions } from "@tanstack/react-query";
import {
  gscCheckGscConnection,
  gscConnectGsc,
  gscDeleteGscConnection,
  gscGetGscConnection,
  gscGetGscMetrics,
  gscGetGscPageSeries,
  gscGetGscQuerySeries,
  gscListGscPages,
  gscListGscQueries,
  gscStartGscBackfill,
  gscStartGscSync,
} from "@/client";
import type { ConnectionPublic, GscConnectionCreate, GscGetGscMetricsData, GscListGscQueriesData, GscPageRow, GscQueryRow } from "@/client";
import { ApiError, unwrap } from "@/lib/api";
import type { DateRange } from "@/lib/date-range";

type MetricsQuery = NonNullable<GscGetGscMetricsData["query"]>;
type RowsQuery = NonNullable<GscListGscQueriesData["query"]>;

/** Which slice of the property: a country (ISO alpha-3, "usa"), a device, a search type. */
export type GscSegment = { country?: string; device?: NonNullable<MetricsQuery["device"]>; type?: MetricsQuery["type"] };
export type GscRowKind = "queries" | "pages";
export type GscSort = NonNullable<RowsQuery["sort"]>;
export type GscRowFilters = GscSegment & { search?: string; sort?: GscSort; order?: "asc" | "desc"; offset?: number; limit?: number };
export type GscRowsPage = { data: (GscQueryRow | GscPageRow)[]; count: number };

export const gscKeys = {
  all: ["gsc"] as const,
  project: (projectId: string) => ["gsc", projectId] as const,
  connection: (projectId: string) => ["gsc", projectId, "connection"] as const,
  /** Everything synced data feeds: refreshed when a sync ends. */
  data: (projectId: string) => ["gsc", projectId, "data"] as const,
  metrics: (projectId: string, range: DateRange, segment: GscSegment) => ["gsc", projectId, "data", "metrics", range, segment] as const,
  rows: (projectId: string, kind: GscRowKind, range: DateRange, filters: GscRowFilters) => ["gsc", projectId, "data", kind, range, filters] as const,
  series: (projectId: string, kind: GscRowKind, key: string, range: DateRange, segment: GscSegment) =>
    ["gsc", projectId, "data", kind, "series", key, range, segment] as const,
};

/** The project's connection, or null when none is set (the API answers 404). */
async function readConnection(projectId: string): Promise<ConnectionPublic | null> {
  try {
    return await unwrap(gscGetGscConnection({ path: { project_id: projectId } }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export const gscQueries = {
  connection: (projectId: string) =>
    queryOptions({ queryKey: gscKeys.connection(projectId), queryFn: () => readConnection(projectId) }),
  metrics: (projectId: string, range: DateRange, segment: GscSegment) =>
    queryOptions({
      queryKey: gscKeys.metrics(projectId, range, segment),
      queryFn: () => unwrap(gscGetGscMetrics({ path: { project_id: projectId }, query: { ...range, ...segment } })),
      placeholderData: keepPreviousData,
    }),
  rows: (projectId: string, kind: GscRowKind, range: DateRange, filters: GscRowFilters) =>
    queryOptions({
      queryKey: gscKeys.rows(projectId, kind, range, filters),
      queryFn: (): Promise<GscRowsPage> => {
        const options = { path: { project_id: projectId }, query: { ...range, ...filters } };
        return kind === "queries" ? unwrap(gscListGscQueries(options)) : unwrap(gscListGscPages(options));
      },
      placeholderData: keepPreviousData,
    }),
  series: (projectId: string, kind: GscRowKind, key: string, range: DateRange, segment: GscSegment) =>
    queryOptions({
      queryKey: gscKeys.series(projectId, kind, key, range, segment),
      queryFn: () => {
        const path = { project_id: projectId };
        return kind === "queries"
          ? unwrap(gscGetGscQuerySeries({ path, query: { ...range, ...segment, query: key } }))
          : unwrap(gscGetGscPageSeries({ path, query: { ...range, ...segment, page: key } }));
      },
    }),
};

export const gscMutations = {
  connect: (projectId: string, input: GscConnectionCreate) => unwrap(gscConnectGsc({ path: { project_id: projectId }, body: input })),
  test: (projectId: string, input?: GscConnectionCreate) => unwrap(gscCheckGscConnection({ path: { project_id: projectId }, body: input })),
  disconnect: (projectId: string) => unwrap(gscDeleteGscConnection({ path: { project_id: projectId } })),
  sync: (projectId: string) => unwrap(gscStartGscSync({ path: { project_id: projectId } })),
  /** Up to 16 months back (the API's ceiling) unless `days` says fewer. */
  backfill: (projectId: string, days?: number) => unwrap(gscStartGscBackfill({ path: { project_id: projectId }, body: days ? { days } : undefined })),
};
