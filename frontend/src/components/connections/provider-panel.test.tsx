import http from "node:http";
import type { AddressInfo } from "node:net";
import { QueryClient, QueryClientProvider, useQuery } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import type { ConnectionPublic } from "@/client";
import { configureApiClient, setToken } from "@/lib/api";
import { gscKeys, gscMutations, gscQueries } from "@/queries/gsc";
import { syncJob as job } from "@/test/jobs";
import { ConnectionSyncSection, ProviderPanel, type SyncedProvider } from "./provider-panel";

const CONNECTION: ConnectionPublic = {
  provider: "gsc",
  target: "sc-domain:example.com",
  account: "sync@seo.iam.gserviceaccount.com",
  settings: {},
  connected_at: "2026-12-06T10:00:00Z",
  updated_at: "2026-12-06T10:00:00Z",
};

const provider: SyncedProvider = {
  name: "Search Console",
  targetLabel: "Property",
  disconnect: () => gscMutations.disconnect("p1"),
  projectKey: gscKeys.project("p1"),
  dataKey: gscKeys.data("p1"),
};

/** Counts the fetches of a cached query, so a test sees which keys were refreshed. */
function Probe({ queryKey, fetches }: { queryKey: readonly unknown[]; fetches: string[] }) {
  useQuery({
    queryKey,
    queryFn: () => {
      fetches.push(queryKey.join("/"));
      return fetches.length;
    },
  });
  return null;
}

/** The Search Console connection and job API on a real HTTP server: the connection answers
 * as the test sets it (missing, failing, connected), a started sync runs for two polls. */
describe("ProviderPanel and ConnectionSyncSection", () => {
  let server: http.Server;
  let connection: "missing" | "failing" | "connected" = "missing";
  let deleted = 0;
  let polls = 0;

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      const send = (status: number, payload?: unknown) => {
        response.writeHead(status, { "Content-Type": "application/json" });
        response.end(payload === undefined ? undefined : JSON.stringify(payload));
      };
      const url = new URL(request.url ?? "/", "http://localhost");
      if (url.pathname === "/api/v1/projects/p1/gsc/connection") {
        if (request.method === "DELETE") {
          deleted += 1;
          connection = "missing";
          return send(204);
        }
        if (connection === "failing") return send(500, { detail: "The database is away" });
        if (connection === "missing") return send(404, { detail: "Search Console is not connected" });
        return send(200, CONNECTION);
      }
      if (url.pathname === "/api/v1/jobs/project/p1") return send(200, { data: [], count: 0 });
      if (url.pathname === "/api/v1/jobs/types") return send(200, { data: [{ job_type: "gsc_sync", label: "Search Console sync", startable: true }], count: 1 });
      if (url.pathname === "/api/v1/projects/p1/gsc/sync" && request.method === "POST") return send(202, job({}));
      if (/^\/api\/v1\/jobs\/[0-9a-f-]{36}$/.test(url.pathname)) {
        polls += 1;
        if (polls < 3) return send(200, job({ status: "running", progress_pct: 50, started_at: "2026-12-06T10:00:01Z" }));
        return send(200, job({ status: "completed", progress_pct: 100, finished_at: "2026-12-06T10:00:09Z" }));
      }
      send(404, { detail: "Not Found" });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    configureApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    setToken("token-123");
  });

  afterAll(async () => {
    setToken(null);
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    connection = "missing";
    deleted = 0;
    polls = 0;
  });

  function Panel() {
    const query = useQuery(gscQueries.connection("p1"));
    return (
      <ProviderPanel
        label="Search Console"
        title="Search Console"
        description="Clicks and impressions."
        provider={provider}
        connection={query}
        intro="Connect a property first."
        connectForm={(onSaved) => (
          <button
            type="button"
            onClick={() => {
              connection = "connected";
              onSaved(CONNECTION);
            }}
          >
            Save the form
          </button>
        )}
      >
        {(data) => <p data-testid="connected-view">{data.target}</p>}
      </ProviderPanel>
    );
  }

  function renderWith(children: React.ReactNode) {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <MemoryRouter>{children}</MemoryRouter>
      </QueryClientProvider>,
    );
  }

  it("shows the connect form until the project is connected, then the connected view", async () => {
    const user = userEvent.setup();
    renderWith(<Panel />);
    const card = screen.getByRole("region", { name: "Search Console" });
    expect(await within(card).findByText("Connect a property first.")).toBeInTheDocument();
    expect(within(card).queryByTestId("connected-view")).toBeNull();
    // Saving refreshes the provider's cached queries: the connection is read again.
    await user.click(within(card).getByRole("button", { name: "Save the form" }));
    expect(await within(card).findByTestId("connected-view")).toHaveTextContent("sc-domain:example.com");
    expect(within(card).queryByText("Connect a property first.")).toBeNull();
  });

  it("offers a retry when the connection cannot be read", async () => {
    const user = userEvent.setup();
    connection = "failing";
    renderWith(<Panel />);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The database is away");
    connection = "connected";
    await user.click(within(alert).getByRole("button", { name: "Try again" }));
    expect(await screen.findByTestId("connected-view")).toHaveTextContent("sc-domain:example.com");
  });

  it("syncs, refreshes the synced data when the job ends, and disconnects", async () => {
    const user = userEvent.setup();
    const fetches: string[] = [];
    renderWith(
      <>
        <Probe queryKey={[...gscKeys.data("p1"), "metrics"]} fetches={fetches} />
        <Probe queryKey={[...gscKeys.project("p1"), "other"]} fetches={fetches} />
        <ConnectionSyncSection
          projectId="p1"
          connection={CONNECTION}
          provider={provider}
          actions={[{ key: "sync", label: "Sync now", jobType: "gsc_sync", start: () => gscMutations.sync("p1") }]}
          pollMs={50}
        />
      </>,
    );
    const summary = screen.getByTestId("connection-summary");
    expect(summary).toHaveTextContent("Property sc-domain:example.com");
    expect(summary).toHaveTextContent("for sync@seo.iam.gserviceaccount.com");
    await waitFor(() => expect(fetches).toEqual(["gsc/p1/data/metrics", "gsc/p1/other"]));

    await user.click(screen.getByRole("button", { name: "Sync now" }));
    const panel = await screen.findByTestId("sync-job");
    await waitFor(() => expect(panel).toHaveAttribute("data-status", "completed"));
    // The data is fetched again once the job ends; nothing else of the provider is.
    await waitFor(() => expect(fetches.filter((key) => key === "gsc/p1/data/metrics")).toHaveLength(2));
    expect(fetches.filter((key) => key === "gsc/p1/other")).toHaveLength(1);

    await user.click(within(summary).getByRole("button", { name: "Disconnect" }));
    // jsdom has no showModal: the native dialog is reached through its title.
    const dialog = (await screen.findByRole("heading", { name: "Disconnect Search Console?", hidden: true })).closest("dialog")!;
    await user.click(within(dialog).getByRole("button", { name: "Disconnect", hidden: true }));
    await waitFor(() => expect(deleted).toBe(1));
    // Disconnecting refreshes everything cached of the provider for the project.
    await waitFor(() => expect(fetches.filter((key) => key === "gsc/p1/other")).toHaveLength(2));
  });
});
