import { keepPreviousData, queryOptions } from "@tanstack/react-query";
import type { JobPublic } from "@/client";
import { ApiError } from "@/lib/api";
import type { DateRange } from "@/lib/date-range";
import { call, type ConnectionPublic, type ConnectionTestPublic, type GoogleCredentials } from "./integration-api";

export type { ConnectionPublic, ConnectionTestPublic, GoogleCredentials };

export type GscDay = { date: string; clicks: number; impressions: number; ctr: number; position: number; provisional: boolean };
export type GscTotals = { clicks: number; impressions: number; ctr: number; position: number };
export type GscMetrics = {
  daily: GscDay[];
  totals: GscTotals;
  previous: { start: string; end: string; daily: GscDay[]; totals: GscTotals };
};
export type GscRow = { query?: string; page?: string; clicks: number; impressions: number; ctr: number; position: number };
export type GscRows = { data: GscRow[]; count: number };
export type GscSeries = { daily: GscDay[] };

export type GscSegment = { country?: string; device?: string };
export type GscRowKind = "queries" | "pages";
export type GscSort = "clicks" | "impressions" | "ctr" | "position";
export type GscRowFilters = GscSegment & { search?: string; sort?: GscSort; order?: "asc" | "desc"; offset?: number; limit?: number };

export const gscKeys = {
  all: ["gsc"] as const,
  project: (projectId: string) => ["gsc", projectId] as const,
  connection: (projectId: string) => ["gsc", projectId, "connection"] as const,
  data: (projectId: string) => ["gsc", projectId, "data"] as const,
  metrics: (projectId: string, range: DateRange, segment: GscSegment) => ["gsc", projectId, "data", "metrics", range, segment] as const,
  rows: (projectId: string, kind: GscRowKind, range: DateRange, filters: GscRowFilters) =>
    ["gsc", projectId, "data", kind, range, filters] as const,
  series: (projectId: string, kind: GscRowKind, key: string, range: DateRange) =>
    ["gsc", projectId, "data", kind, "series", key, range] as const,
};

const base = (projectId: string) => `/api/v1/projects/${projectId}/gsc`;

/** The project's connection, or null when none is set (the API answers 404). */
async function readConnection(projectId: string): Promise<ConnectionPublic | null> {
  try {
    return await call<ConnectionPublic>("GET", `${base(projectId)}/connection`);
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
      queryFn: () => call<GscMetrics>("GET", `${base(projectId)}/metrics`, { query: { ...range, ...segment } }),
      placeholderData: keepPreviousData,
    }),
  rows: (projectId: string, kind: GscRowKind, range: DateRange, filters: GscRowFilters) =>
    queryOptions({
      queryKey: gscKeys.rows(projectId, kind, range, filters),
      queryFn: () => call<GscRows>("GET", `${base(projectId)}/${kind}`, { query: { ...range, ...filters } }),
      placeholderData: keepPreviousData,
    }),
  series: (projectId: string, kind: GscRowKind, key: string, range: DateRange) =>
    queryOptions({
      queryKey: gscKeys.series(projectId, kind, key, range),
      queryFn: () =>
        call<GscSeries>("GET", `${base(projectId)}/${kind}/series`, {
          query: { ...range, [kind === "queries" ? "query" : "page"]: key },
        }),
    }),
};

export type GscConnectionInput = { property: string; credentials: GoogleCredentials };

export const gscMutations = {
  connect: (projectId: string, input: GscConnectionInput) => call<ConnectionPublic>("PUT", `${base(projectId)}/connection`, { body: input }),
  test: (projectId: string, input?: GscConnectionInput) => call<ConnectionTestPublic>("POST", `${base(projectId)}/connection/test`, { body: input }),
  disconnect: (projectId: string) => call<unknown>("DELETE", `${base(projectId)}/connection`),
  sync: (projectId: string) => call<JobPublic>("POST", `${base(projectId)}/sync`),
  backfill: (projectId: string, days?: number) => call<JobPublic>("POST", `${base(projectId)}/backfill`, { body: days ? { days } : undefined }),
};
