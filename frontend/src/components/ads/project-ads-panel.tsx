import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import type { AdsCampaignPublic, ConnectionPublic, ProjectPublic } from "@/client";
import { ConnectionSyncSection, ProviderPanel, type SyncedProvider } from "@/components/connections/provider-panel";
import type { SyncAction } from "@/components/connections/sync-jobs";
import { Button } from "@/components/ui/button";
import { CardBody, Stat } from "@/components/ui/card";
import { presetChoice, RangePicker, type RangeChoice } from "@/components/ui/range-picker";
import { QueryBoundary } from "@/components/ui/states";
import { formatCurrency, formatDecimal, formatNumber } from "@/lib/format";
import { adsKeys, adsMutations, adsQueries } from "@/queries/ads";
import { AdsChart } from "./ads-chart";
import { AdsConnectForm } from "./ads-connect-form";
import { adsChartDays } from "./ads-series";
import { CampaignsTable } from "./campaigns-table";

function SpendChart({ projectId, range, campaign, onClear }: { projectId: string; range: RangeChoice; campaign: AdsCampaignPublic | null; onClear: () => void }) {
  const metrics = useQuery(adsQueries.metrics(projectId, range.range, campaign?.campaign_id ?? null));
  return (
    <QueryBoundary query={metrics}>
      {(data) => (
        <div className="space-y-4">
          <dl className="grid grid-cols-2 gap-3 lg:grid-cols-4" data-testid="ads-totals">
            <Stat label="Spend" value={formatCurrency(data.totals.cost, data.currency)} />
            <Stat label="Clicks" value={formatNumber(data.totals.clicks)} />
            <Stat label="Conversions" value={formatDecimal(data.totals.conversions, data.totals.conversions % 1 === 0 ? 0 : 2)} />
            <Stat label="Conv. value" value={formatCurrency(data.totals.conversions_value, data.currency)} />
          </dl>
          {campaign && (
            <p className="flex items-center gap-2 text-sm text-slate-600">
              Campaign <strong className="text-slate-900">{campaign.name}</strong>
              <Button size="sm" variant="ghost" onClick={onClear}>
                Show all campaigns
              </Button>
            </p>
          )}
          <AdsChart title={campaign ? `Spend, clicks and conversions of ${campaign.name} by day` : "Spend, clicks and conversions by day"} days={adsChartDays(range.range, data.daily)} currency={data.currency} />
        </div>
      )}
    </QueryBoundary>
  );
}

function ConnectedView({ project, connection, provider }: { project: ProjectPublic; connection: ConnectionPublic; provider: SyncedProvider }) {
  const [range, setRange] = useState<RangeChoice>(() => presetChoice("28d"));
  const [campaign, setCampaign] = useState<AdsCampaignPublic | null>(null);
  const actions: SyncAction[] = [{ key: "ads-sync", label: "Sync now", jobType: "ads_sync", start: () => adsMutations.sync(project.id) }];
  return (
    <>
      <ConnectionSyncSection projectId={project.id} connection={connection} provider={provider} actions={actions} />
      <CardBody className="space-y-4">
        <RangePicker value={range} onChange={setRange} presets={["7d", "28d", "90d"]} />
        <SpendChart projectId={project.id} range={range} campaign={campaign} onClear={() => setCampaign(null)} />
      </CardBody>
      <div className="border-t border-slate-100">
        <CampaignsTable projectId={project.id} range={range.range} selected={campaign?.campaign_id ?? null} onSelect={setCampaign} />
      </div>
    </>
  );
}

/** The project's Google Ads account: a connect form until one is connected, then spend,
 * clicks and conversions by day and the campaigns with their totals. */
export function ProjectAdsPanel({ project }: { project: ProjectPublic }) {
  const connection = useQuery(adsQueries.connection(project.id));
  const provider = useMemo<SyncedProvider>(
    () => ({
      name: "Google Ads",
      targetLabel: "Customer",
      disconnect: () => adsMutations.disconnect(project.id),
      projectKey: adsKeys.project(project.id),
      dataKey: adsKeys.data(project.id),
    }),
    [project.id],
  );
  return (
    <ProviderPanel
      label="Ads"
      title="Ads"
      description="Google Ads campaigns: spend, clicks and conversions."
      provider={provider}
      connection={connection}
      intro="Connect a Google Ads account to chart its campaigns."
      connectForm={(onSaved) => <AdsConnectForm projectId={project.id} onSaved={onSaved} />}
    >
      {(data) => <ConnectedView project={project} connection={data} provider={provider} />}
    </ProviderPanel>
  );
}
