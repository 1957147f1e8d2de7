import http from "node:http";
import type { AddressInfo } from "node:net";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { AdsCampaignPublic } from "@/client";
import { configureApiClient, setToken } from "@/lib/api";
import { CampaignsTable } from "./campaigns-table";

const campaign = (overrides: Partial<AdsCampaignPublic>): AdsCampaignPublic => ({
  campaign_id: "20451790011",
  name: "Brand | Search | DE",
  status: "ENABLED",
  impressions: 56280,
  clicks: 10090,
  cost: 3442.46,
  conversions: 843.17,
  conversions_value: 52212.84,
  ctr: 0.1793,
  cpc: 0.34,
  ...overrides,
});

/** The campaigns API on a real HTTP server; it records the query strings it was sent. */
describe("CampaignsTable", () => {
  let server: http.Server;
  const requests: URLSearchParams[] = [];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      const url = new URL(request.url ?? "/", "http://localhost");
      response.writeHead(url.pathname === "/api/v1/projects/p1/ads/campaigns" ? 200 : 404, { "Content-Type": "application/json" });
      if (url.pathname !== "/api/v1/projects/p1/ads/campaigns") return response.end(JSON.stringify({ detail: "Not Found" }));
      requests.push(url.searchParams);
      const data = [campaign({}), campaign({ campaign_id: "20451790014", name: "Display | Remarketing", status: "PAUSED", impressions: 0, clicks: 0, cost: 0, conversions: 0, conversions_value: 0, ctr: 0, cpc: null })];
      response.end(
        JSON.stringify({
          data,
          count: 2,
          totals: { impressions: 56280, clicks: 10090, cost: 3442.46, conversions: 843.17, conversions_value: 52212.84, ctr: 0.1793, cpc: 0.34 },
          currency: "EUR",
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    configureApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    setToken("token-123");
  });

  afterAll(async () => {
    setToken(null);
    await new Promise((resolve) => server.close(resolve));
  });

  it("writes cost in the account's currency with a totals row, sorts on the server and picks a campaign", async () => {
    const user = userEvent.setup();
    const onSelect = vi.fn();
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <CampaignsTable projectId="p1" range={{ start: "2026-11-09", end: "2026-12-06" }} selected={null} onSelect={onSelect} />
      </QueryClientProvider>,
    );
    const table = await screen.findByRole("table", { name: "Campaigns" });
    const [brand, paused] = within(table).getAllByTestId("campaign-row");
    expect(brand).toHaveTextContent("€3,442.46");
    expect(brand).toHaveTextContent("17.93%");
    expect(brand).toHaveTextContent("€0.34");
    expect(paused).toHaveTextContent("Paused");
    // No clicks, no cost per click.
    expect(paused).toHaveTextContent("—");
    const totals = within(table).getByTestId("campaigns-totals");
    expect(totals).toHaveTextContent("Total");
    expect(totals).toHaveTextContent("€52,212.84");
    expect(requests.at(-1)?.get("sort")).toBe("cost");
    expect(requests.at(-1)?.get("start")).toBe("2026-11-09");

    await user.click(within(table).getByRole("button", { name: "Clicks" }));
    await waitFor(() => expect(requests.at(-1)?.get("sort")).toBe("clicks"));
    expect(requests.at(-1)?.get("order")).toBe("desc");
    expect(within(table).getByRole("columnheader", { name: /Clicks/ })).toHaveAttribute("aria-sort", "descending");

    await user.click(within(brand!).getByRole("button", { name: "Brand | Search | DE" }));
    expect(onSelect).toHaveBeenCalledWith(expect.objectContaining({ campaign_id: "20451790011" }));
  });
});
