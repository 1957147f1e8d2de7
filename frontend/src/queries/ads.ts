import { keepPreviousData, queryOptions } from "@tanstack/react-query";
import {
  adsCheckAdsConnection,
  adsConnectAds,
  adsDisconnectAds,
  adsListAdsCampaigns,
  adsReadAdsConnection,
  adsReadAdsMetrics,
  adsStartAdsSync,
} from "@/client";
import type { AdsConnectionCreate, AdsListAdsCampaignsData, ConnectionPublic } from "@/client";
import { ApiError, unwrap } from "@/lib/api";
import type { DateRange } from "@/lib/date-range";

export type AdsSort = NonNullable<NonNullable<AdsListAdsCampaignsData["query"]>["sort"]>;
export type CampaignFilters = { sort?: AdsSort; order?: "asc" | "desc"; offset?: number; limit?: number };

export const adsKeys = {
  all: ["ads"] as const,
  project: (projectId: string) => ["ads", projectId] as const,
  connection: (projectId: string) => ["ads", projectId, "connection"] as const,
  data: (projectId: string) => ["ads", projectId, "data"] as const,
  campaigns: (projectId: string, range: DateRange, filters: CampaignFilters) => ["ads", projectId, "data", "campaigns", range, filters] as const,
  metrics: (projectId: string, range: DateRange, campaignId: string | null) => ["ads", projectId, "data", "metrics", range, campaignId] as const,
};

async function readConnection(projectId: string): Promise<ConnectionPublic | null> {
  try {
    return await unwrap(adsReadAdsConnection({ path: { project_id: projectId } }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export const adsQueries = {
  /** The project's Ads account, or null when none is connected (the API answers 404). */
  connection: (projectId: string) =>
    queryOptions({ queryKey: adsKeys.connection(projectId), queryFn: () => readConnection(projectId) }),
  campaigns: (projectId: string, range: DateRange, filters: CampaignFilters) =>
    queryOptions({
      queryKey: adsKeys.campaigns(projectId, range, filters),
      queryFn: () => unwrap(adsListAdsCampaigns({ path: { project_id: projectId }, query: { ...range, ...filters } })),
      placeholderData: keepPreviousData,
    }),
  metrics: (projectId: string, range: DateRange, campaignId: string | null) =>
    queryOptions({
      queryKey: adsKeys.metrics(projectId, range, campaignId),
      queryFn: () =>
        unwrap(
          adsReadAdsMetrics({
            path: { project_id: projectId },
            // Campaign ids are int64 written as strings; Google's stay far below 2**53.
            query: { ...range, campaign_id: campaignId === null ? undefined : Number(campaignId) },
          }),
        ),
      placeholderData: keepPreviousData,
    }),
};

export const adsMutations = {
  connect: (projectId: string, input: AdsConnectionCreate) => unwrap(adsConnectAds({ path: { project_id: projectId }, body: input })),
  test: (projectId: string, input?: AdsConnectionCreate) => unwrap(adsCheckAdsConnection({ path: { project_id: projectId }, body: input })),
  disconnect: (projectId: string) => unwrap(adsDisconnectAds({ path: { project_id: projectId } })),
  sync: (projectId: string) => unwrap(adsStartAdsSync({ path: { project_id: projectId } })),
};
