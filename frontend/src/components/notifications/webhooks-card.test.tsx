import http from "node:http";
import type { AddressInfo } from "node:net";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ProjectPublic } from "@/client";
import { configureApiClient, setToken } from "@/lib/api";
import { WebhooksCard } from "./webhooks-card";

const PROJECT = { id: "p1", name: "Shop", site_url: "https://shop.example.com" } as ProjectPublic;

/** An HTTP server speaking the webhooks API, endpoints and their log kept in memory. */
describe("WebhooksCard", () => {
  let server: http.Server;
  let hooks: Record<string, unknown>[] = [];
  const redelivered: string[] = [];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        const send = (status: number, payload?: unknown) => {
          response.writeHead(status, { "Content-Type": "application/json" });
          response.end(payload === undefined ? undefined : JSON.stringify(payload));
        };
        const url = request.url ?? "";
        if (url === "/api/v1/projects/p1/webhooks" && request.method === "GET") {
          return send(200, { data: hooks, count: hooks.length });
        }
        if (url === "/api/v1/projects/p1/webhooks" && request.method === "POST") {
          const created = JSON.parse(body) as { url: string; events: string[] };
          if (created.url.includes("10.0.0.1")) {
            return send(422, { detail: "webhooks cannot be sent to 10.0.0.1: a private address" });
          }
          const hook = {
            id: "w1",
            project_id: "p1",
            url: created.url,
            events: created.events,
            enabled: true,
            consecutive_failures: 0,
            disabled_reason: null,
            created_at: "2026-12-06T09:00:00Z",
          };
          hooks = [hook];
          return send(201, { ...hook, secret: "whsec_SHOWN_ONCE" });
        }
        if (url.startsWith("/api/v1/webhooks/w1/deliveries?")) {
          return send(200, {
            data: [
              {
                id: "d1",
                event_id: "e1",
                event_type: "job.completed",
                channel: "webhook",
                target: "w1",
                job_id: null,
                status: "failed",
                attempts: 6,
                next_attempt_at: "2026-12-06T09:00:00Z",
                last_status_code: 500,
                last_latency_ms: 12,
                last_error: "HTTP 500",
                response_excerpt: "boom",
                created_at: "2026-12-06T09:00:00Z",
                finished_at: "2026-12-06T09:01:00Z",
              },
            ],
            count: 1,
          });
        }
        if (url === "/api/v1/webhooks/w1/deliveries/d1/redeliver") {
          redelivered.push("d1");
          return send(202, {});
        }
        if (url === "/api/v1/webhooks/w1/test") {
          return send(200, { ok: true, status: "delivered", status_code: 202, latency_ms: 9, response_excerpt: "pong", detail: "ok" });
        }
        send(404, { detail: "Not Found" });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    configureApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    setToken("login-token");
  });

  afterAll(async () => {
    setToken(null);
    await new Promise((resolve) => server.close(resolve));
  });

  it("adds a webhook, shows its secret once, and redelivers from the log", async () => {
    const user = userEvent.setup();
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <WebhooksCard project={PROJECT} />
      </QueryClientProvider>,
    );
    await user.type(screen.getByLabelText("Receiver URL"), "https://hooks.example.com/seo");
    await user.click(screen.getByRole("button", { name: "Add webhook" }));
    expect(await screen.findByTestId("webhook-secret")).toHaveTextContent("whsec_SHOWN_ONCE");
    const hook = await screen.findByTestId("webhook");
    expect(hook).toHaveTextContent("https://hooks.example.com/seo");
    expect(hook).toHaveTextContent("job.completed, job.failed");

    await user.click(within(hook).getByRole("button", { name: "Delivery log" }));
    const row = await screen.findByTestId("delivery-row");
    expect(row).toHaveTextContent("failed");
    expect(row).toHaveTextContent("500");
    await user.click(within(row).getByRole("button", { name: "Redeliver" }));
    await waitFor(() => expect(redelivered).toEqual(["d1"]));
  });
});
