import { keepPreviousData, queryOptions } from "@tanstack/react-query";
import type { JobPublic } from "@/client";
import { ApiError } from "@/lib/api";
import type { DateRange } from "@/lib/date-range";
import { call, type ConnectionPublic, type ConnectionTestPublic, type GoogleCredentials } from "./integration-api";

export type AdsFigures = { impressions: number; clicks: number; cost: number; conversions: number; conversions_value: number };
export type AdsCampaign = AdsFigures & { campaign_id: string; name: string; status: string; ctr: number | null; cpc: number | null };
export type AdsTotals = AdsFigures & { ctr?: number | null; cpc?: number | null };
export type AdsCampaigns = { data: AdsCampaign[]; count: number; totals: AdsTotals; currency: string | null };
export type AdsDay = AdsFigures & { date: string };
export type AdsMetrics = { daily: AdsDay[]; totals: AdsTotals; currency: string | null };

export type AdsSort = "name" | "impressions" | "clicks" | "cost" | "conversions" | "conversions_value" | "ctr" | "cpc";
export type CampaignFilters = { sort?: AdsSort; order?: "asc" | "desc"; offset?: number; limit?: number };

export const adsKeys = {
  all: ["ads"] as const,
  project: (projectId: string) => ["ads", projectId] as const,
  connection: (projectId: string) => ["ads", projectId, "connection"] as const,
  data: (projectId: string) => ["ads", projectId, "data"] as const,
  campaigns: (projectId: string, range: DateRange, filters: CampaignFilters) => ["ads", projectId, "data", "campaigns", range, filters] as const,
  metrics: (projectId: string, range: DateRange, campaignId: string | null) => ["ads", projectId, "data", "metrics", range, campaignId] as const,
};

const base = (projectId: string) => `/api/v1/projects/${projectId}/ads`;

async function readConnection(projectId: string): Promise<ConnectionPublic | null> {
  try {
    return await call<ConnectionPublic>("GET", `${base(projectId)}/connection`);
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
      queryFn: () => call<AdsCampaigns>("GET", `${base(projectId)}/campaigns`, { query: { ...range, ...filters } }),
      placeholderData: keepPreviousData,
    }),
  metrics: (projectId: string, range: DateRange, campaignId: string | null) =>
    queryOptions({
      queryKey: adsKeys.metrics(projectId, range, campaignId),
      queryFn: () => call<AdsMetrics>("GET", `${base(projectId)}/metrics`, { query: { ...range, campaign_id: campaignId ?? undefined } }),
      placeholderData: keepPreviousData,
    }),
};

export type AdsConnectionInput = {
  customer_id: string;
  login_customer_id?: string | null;
  developer_token: string;
  credentials: GoogleCredentials;
};

export const adsMutations = {
  connect: (projectId: string, input: AdsConnectionInput) => call<ConnectionPublic>("PUT", `${base(projectId)}/connection`, { body: input }),
  test: (projectId: string, input?: AdsConnectionInput) => call<ConnectionTestPublic>("POST", `${base(projectId)}/connection/test`, { body: input }),
  disconnect: (projectId: string) => call<unknown>("DELETE", `${base(projectId)}/connection`),
  sync: (projectId: string) => call<JobPublic>("POST", `${base(projectId)}/sync`),
};
