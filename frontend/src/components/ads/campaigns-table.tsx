import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Pagination } from "@/components/ui/pagination";
import { EmptyState, QueryBoundary } from "@/components/ui/states";
import { Table, Td, Th, Tr } from "@/components/ui/table";
import type { DateRange } from "@/lib/date-range";
import { formatCurrency, formatDecimal, formatNumber, formatPercent, humanize } from "@/lib/format";
import type { AdsCampaignPublic, AdsTotalsPublic } from "@/client";
import { adsQueries, type AdsSort } from "@/queries/ads";

const PAGE_SIZE = 20;

type Column = { key: AdsSort; label: string; value: (row: AdsCampaignPublic | AdsTotalsPublic, currency: string | null) => string };

const COLUMNS: Column[] = [
  { key: "impressions", label: "Impressions", value: (row) => formatNumber(row.impressions) },
  { key: "clicks", label: "Clicks", value: (row) => formatNumber(row.clicks) },
  { key: "ctr", label: "CTR", value: (row) => formatPercent(row.ctr ?? (row.impressions ? row.clicks / row.impressions : null)) },
  { key: "cpc", label: "Avg. CPC", value: (row, currency) => formatCurrency(row.cpc ?? (row.clicks ? row.cost / row.clicks : null), currency) },
  { key: "cost", label: "Cost", value: (row, currency) => formatCurrency(row.cost, currency) },
  { key: "conversions", label: "Conversions", value: (row) => formatDecimal(row.conversions, row.conversions % 1 === 0 ? 0 : 2) },
  { key: "conversions_value", label: "Conv. value", value: (row, currency) => formatCurrency(row.conversions_value, currency) },
];

const STATUS_TONES: Record<string, "green" | "amber" | "gray"> = { ENABLED: "green", PAUSED: "amber", REMOVED: "gray" };

/** The account's campaigns over the range with a totals row; cost in the account's currency.
 * Choosing a campaign charts it alone. */
export function CampaignsTable({
  projectId,
  range,
  selected,
  onSelect,
}: {
  projectId: string;
  range: DateRange;
  selected: string | null;
  onSelect: (campaign: AdsCampaignPublic | null) => void;
}) {
  const [sort, setSort] = useState<{ by: AdsSort; order: "asc" | "desc" }>({ by: "cost", order: "desc" });
  const [offset, setOffset] = useState(0);
  // Another range starts again from the first page.
  const [rangeSeen, setRangeSeen] = useState(range);
  if (rangeSeen !== range) {
    setRangeSeen(range);
    setOffset(0);
  }
  const campaigns = useQuery(adsQueries.campaigns(projectId, range, { sort: sort.by, order: sort.order, offset, limit: PAGE_SIZE }));
  const sortBy = (by: AdsSort) => {
    setSort((current) => (current.by === by ? { by, order: current.order === "asc" ? "desc" : "asc" } : { by, order: by === "name" ? "asc" : "desc" }));
    setOffset(0);
  };
  const header = (key: AdsSort, label: string, className?: string) => (
    <Th key={key} className={className} aria-sort={sort.by === key ? (sort.order === "asc" ? "ascending" : "descending") : "none"}>
      <button type="button" className="uppercase hover:text-slate-800" onClick={() => sortBy(key)}>
        {label}
        {sort.by === key && <span aria-hidden="true">{sort.order === "asc" ? " ↑" : " ↓"}</span>}
      </button>
    </Th>
  );
  return (
    <QueryBoundary
      query={campaigns}
      isEmpty={(page) => page.count === 0}
      empty={<EmptyState title="No campaigns in this range" description="Sync the account, or choose another range." />}
    >
      {(page) => (
        <>
          <Table aria-label="Campaigns">
            <thead>
              <tr>
                {header("name", "Campaign")}
                <Th>Status</Th>
                {COLUMNS.map((column) => header(column.key, column.label, "text-right"))}
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {page.data.map((campaign) => (
                <Tr key={campaign.campaign_id} data-testid="campaign-row" aria-selected={selected === campaign.campaign_id} className={selected === campaign.campaign_id ? "bg-brand-50/60" : undefined}>
                  <Td className="max-w-xs truncate">
                    <button
                      type="button"
                      className="truncate text-left font-medium text-slate-900 hover:text-brand-700 hover:underline"
                      onClick={() => onSelect(selected === campaign.campaign_id ? null : campaign)}
                      title={`Chart ${campaign.name} alone`}
                    >
                      {campaign.name}
                    </button>
                  </Td>
                  <Td>
                    <Badge tone={STATUS_TONES[campaign.status] ?? "gray"}>{humanize(campaign.status.toLowerCase())}</Badge>
                  </Td>
                  {COLUMNS.map((column) => (
                    <Td key={column.key} className="text-right tabular-nums">
                      {column.value(campaign, page.currency)}
                    </Td>
                  ))}
                </Tr>
              ))}
            </tbody>
            <tfoot className="border-t-2 border-slate-200 bg-slate-50 font-semibold">
              <tr data-testid="campaigns-totals">
                <Td>Total</Td>
                <Td>
                  <span className="text-xs font-normal text-slate-500">{formatNumber(page.count)} campaigns</span>
                </Td>
                {COLUMNS.map((column) => (
                  <Td key={column.key} className="text-right tabular-nums text-slate-900">
                    {column.value(page.totals, page.currency)}
                  </Td>
                ))}
              </tr>
            </tfoot>
          </Table>
          <Pagination offset={offset} limit={PAGE_SIZE} count={page.count} onChange={setOffset} />
        </>
      )}
    </QueryBoundary>
  );
}
