import http from "node:http";
import type { AddressInfo } from "node:net";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { GscQueryRow } from "@/client";
import { configureApiClient, setToken } from "@/lib/api";
import { TopTable } from "./top-table";

const ROWS: GscQueryRow[] = Array.from({ length: 25 }, (_, i) => ({
  query: `seo audit ${i}`,
  clicks: 100 - i,
  impressions: 1000 + i,
  ctr: (100 - i) / (1000 + i),
  position: 1 + i / 10,
}));

/** The top-queries API on a real HTTP server: it searches, sorts and pages like the backend,
 * and records what it was asked. */
describe("TopTable", () => {
  let server: http.Server;
  const requests: URLSearchParams[] = [];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      const url = new URL(request.url ?? "/", "http://localhost");
      response.writeHead(200, { "Content-Type": "application/json" });
      requests.push(url.searchParams);
      const search = url.searchParams.get("search") ?? "";
      const sort = (url.searchParams.get("sort") ?? "clicks") as keyof GscQueryRow;
      const sign = url.searchParams.get("order") === "asc" ? 1 : -1;
      const offset = Number(url.searchParams.get("offset") ?? 0);
      const limit = Number(url.searchParams.get("limit") ?? 10);
      const matching = ROWS.filter((row) => row.query.includes(search)).sort((a, b) => sign * (Number(a[sort]) - Number(b[sort])));
      response.end(JSON.stringify({ data: matching.slice(offset, offset + limit), count: matching.length }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    configureApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    setToken("token-123");
  });

  afterAll(async () => {
    setToken(null);
    await new Promise((resolve) => server.close(resolve));
  });

  it("pages, sorts position best first, searches after typing stops, and opens a query", async () => {
    const user = userEvent.setup();
    const onOpen = vi.fn();
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <TopTable projectId="p1" kind="queries" range={{ start: "2026-11-09", end: "2026-12-06" }} segment={{ country: "usa" }} onOpen={onOpen} />
      </QueryClientProvider>,
    );
    const table = await screen.findByRole("table", { name: "Top queries" });
    expect(within(table).getAllByTestId("gsc-queries-row")).toHaveLength(10);
    expect(requests.at(-1)?.get("country")).toBe("usa");
    await user.click(screen.getByRole("button", { name: "Next" }));
    await waitFor(() => expect(within(table).getAllByTestId("gsc-queries-row")[0]).toHaveTextContent("seo audit 10"));

    // Position: lowest (best) first, and back to the first page.
    await user.click(within(table).getByRole("button", { name: "Position" }));
    await waitFor(() => expect(requests.at(-1)?.get("sort")).toBe("position"));
    expect(requests.at(-1)?.get("order")).toBe("asc");
    expect(requests.at(-1)?.get("offset")).toBe("0");

    const before = requests.length;
    await user.type(screen.getByLabelText("Search queries"), "audit 2");
    await waitFor(() => expect(within(table).getAllByTestId("gsc-queries-row")).toHaveLength(6));
    // One request for the whole word, not one per key.
    expect(requests.slice(before).filter((params) => params.get("search") !== null).map((params) => params.get("search"))).toEqual(["audit 2"]);

    await user.click(within(table).getByRole("button", { name: "seo audit 2" }));
    expect(onOpen).toHaveBeenCalledWith("seo audit 2");
  });
});
