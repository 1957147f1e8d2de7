import { keepPreviousData, queryOptions } from "@tanstack/react-query";
import {
  serpAddKeywords,
  serpAddKeywordsInBulk,
  serpCheckSerpConnection,
  serpConnectSerp,
  serpDeleteSerpConnection,
  serpDeleteKeyword,
  serpGetKeywordHistory,
  serpGetSerpConnection,
  serpGetSerpVisibility,
  serpListKeywords,
  serpStartKeywordRefresh,
  serpStartSerpRefresh,
} from "@/client";
import type { KeywordCreate, SerpConnectSerpData } from "@/client";
import { ApiError, unwrap } from "@/lib/api";

export type KeywordFilters = {
  tag?: string;
  device?: "desktop" | "mobile";
  country?: string;
  sort?: "text" | "position" | "best_position" | "checked_at" | "created_at";
  order?: "asc" | "desc";
  offset?: number;
  limit?: number;
};

export const serpKeys = {
  all: ["serp"] as const,
  keywords: (projectId: string, filters: KeywordFilters) => ["serp", "keywords", projectId, filters] as const,
  history: (keywordId: string) => ["serp", "history", keywordId] as const,
  visibility: (projectId: string) => ["serp", "visibility", projectId] as const,
  connection: (projectId: string) => ["serp", "connection", projectId] as const,
};

export const serpQueries = {
  keywords: (projectId: string, filters: KeywordFilters = {}) =>
    queryOptions({
      queryKey: serpKeys.keywords(projectId, filters),
      queryFn: () =>
        unwrap(
          serpListKeywords({
            path: { project_id: projectId },
            query: {
              tag: filters.tag || undefined,
              device: filters.device,
              country: filters.country || undefined,
              sort: filters.sort ?? "position",
              order: filters.order ?? "asc",
              offset: filters.offset ?? 0,
              limit: filters.limit ?? 25,
            },
          }),
        ),
      placeholderData: keepPreviousData,
    }),
  history: (keywordId: string) =>
    queryOptions({
      queryKey: serpKeys.history(keywordId),
      queryFn: () => unwrap(serpGetKeywordHistory({ path: { keyword_id: keywordId } })),
    }),
  visibility: (projectId: string) =>
    queryOptions({
      queryKey: serpKeys.visibility(projectId),
      queryFn: () => unwrap(serpGetSerpVisibility({ path: { project_id: projectId } })),
    }),
  /** The project's provider connection, or null when none is set (404). */
  connection: (projectId: string) =>
    queryOptions({
      queryKey: serpKeys.connection(projectId),
      queryFn: async () => {
        try {
          return await unwrap(serpGetSerpConnection({ path: { project_id: projectId } }));
        } catch (error) {
          if (error instanceof ApiError && error.status === 404) return null;
          throw error;
        }
      },
    }),
};

export const serpMutations = {
  add: (projectId: string, keyword: KeywordCreate) =>
    unwrap(serpAddKeywords({ path: { project_id: projectId }, body: keyword })),
  addLines: (projectId: string, lines: string, defaults: { country: string; language: string; device: "desktop" | "mobile" }) =>
    unwrap(serpAddKeywordsInBulk({ path: { project_id: projectId }, body: { lines, ...defaults } })),
  remove: (projectId: string, keywordId: string) =>
    unwrap(serpDeleteKeyword({ path: { project_id: projectId, keyword_id: keywordId } })),
  refreshProject: (projectId: string) => unwrap(serpStartSerpRefresh({ path: { project_id: projectId } })),
  refreshKeyword: (keywordId: string) => unwrap(serpStartKeywordRefresh({ path: { keyword_id: keywordId } })),
  connect: (projectId: string, input: SerpConnectSerpData["body"]) =>
    unwrap(serpConnectSerp({ path: { project_id: projectId }, body: input })),
  /** Tests the values given (before saving them), or the stored connection. */
  testConnection: (projectId: string, input?: SerpConnectSerpData["body"]) =>
    unwrap(serpCheckSerpConnection({ path: { project_id: projectId }, body: input })),
  disconnect: (projectId: string) => unwrap(serpDeleteSerpConnection({ path: { project_id: projectId } })),
};
