import http from "node:http";
import type { AddressInfo } from "node:net";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { configureApiClient, setToken } from "@/lib/api";
import { gscMutations } from "@/queries/gsc";
import { syncJob as job } from "@/test/jobs";
import { SyncJobs } from "./sync-jobs";

/** The job API on a real HTTP server: a started sync answers running for two polls, then
 * completed. */
describe("SyncJobs", () => {
  let server: http.Server;
  let polls = 0;

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      const send = (status: number, payload: unknown) => {
        response.writeHead(status, { "Content-Type": "application/json" });
        response.end(JSON.stringify(payload));
      };
      const url = new URL(request.url ?? "/", "http://localhost");
      if (url.pathname === "/api/v1/jobs/project/p1") return send(200, { data: [], count: 0 });
      if (url.pathname === "/api/v1/jobs/types") return send(200, { data: [{ job_type: "gsc_sync", label: "Search Console sync", startable: true }], count: 1 });
      if (url.pathname === "/api/v1/projects/p1/gsc/sync" && request.method === "POST") return send(202, job({}));
      if (/^\/api\/v1\/jobs\/[0-9a-f-]{36}$/.test(url.pathname)) {
        polls += 1;
        if (polls < 3) return send(200, job({ status: "running", progress_pct: 40, progress_message: "day 11 of 28", started_at: "2026-12-06T10:00:01Z" }));
        return send(200, job({ status: "completed", progress_pct: 100, progress_message: "day 28 of 28", finished_at: "2026-12-06T10:00:09Z" }));
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

  it("follows the started job live and refreshes the data once it ends", async () => {
    const user = userEvent.setup();
    const onFinished = vi.fn();
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <MemoryRouter>
          <SyncJobs
            projectId="p1"
            actions={[{ key: "sync", label: "Sync now", jobType: "gsc_sync", start: () => gscMutations.sync("p1") }]}
            onFinished={onFinished}
            pollMs={50}
          />
        </MemoryRouter>
      </QueryClientProvider>,
    );
    await user.click(screen.getByRole("button", { name: "Sync now" }));
    const panel = await screen.findByTestId("sync-job");
    await waitFor(() => expect(panel).toHaveAttribute("data-status", "running"));
    expect(within(panel).getByRole("progressbar")).toHaveAttribute("aria-valuetext", "day 11 of 28");
    // A second sync cannot start while one runs.
    expect(screen.getByRole("button", { name: "Sync now" })).toBeDisabled();
    await waitFor(() => expect(panel).toHaveAttribute("data-status", "completed"));
    await waitFor(() => expect(onFinished).toHaveBeenCalledOnce());
    expect(onFinished.mock.calls[0]![0]).toMatchObject({ status: "completed" });
    expect(screen.getByRole("button", { name: "Sync now" })).toBeEnabled();
  });
});
