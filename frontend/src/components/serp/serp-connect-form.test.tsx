import http from "node:http";
import type { AddressInfo } from "node:net";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { configureApiClient, setToken } from "@/lib/api";
import { SerpConnectionCard, serpFormInput } from "./serp-connect-form";

const KEY = "serpapi-key-0001";
const LOGIN = "api@example.com";

type Stored = { provider: string; target: string; account: string; settings: object; connected_at: string; updated_at: string };

/** An HTTP server speaking the rank provider connection API: SerpApi knows KEY, DataForSEO
 * knows LOGIN with the password "right"; the stored connection is whatever was last saved. */
/** Types a value in one go (a paste: key by key is slow and tests nothing more here). */
async function fill(user: ReturnType<typeof userEvent.setup>, field: HTMLElement, value: string) {
  await user.click(field);
  await user.paste(value);
}

describe("SerpConnectionCard", () => {
  let server: http.Server;
  let stored: Stored | null = null;
  let saved: unknown[] = [];
  let tested: unknown[] = [];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        const send = (status: number, payload?: unknown) => {
          response.writeHead(status, { "Content-Type": "application/json" });
          response.end(payload === undefined ? "" : JSON.stringify(payload));
        };
        const url = request.url ?? "";
        const base = "/api/v1/projects/p1/serp/connection";
        if (url === `${base}/test` && request.method === "POST") {
          const input = body ? (JSON.parse(body) as { provider: string; api_key?: string; login?: string; password?: string }) : null;
          tested.push(input);
          if (!input) return stored ? send(200, { ok: true, detail: "Stored key: 4,990 searches left", choices: [] }) : send(404, { detail: "Not connected" });
          const ok = input.provider === "serpapi" ? input.api_key === KEY : input.login === LOGIN && input.password === "right";
          return send(200, ok ? { ok: true, detail: "4,990 searches left this month", choices: [] } : { ok: false, detail: "The provider refused the credential.", choices: [] });
        }
        if (url === base && request.method === "PUT") {
          const input = JSON.parse(body) as { provider: string; login?: string };
          saved.push(input);
          const account = input.provider === "serpapi" ? "SerpApi key #a1b2c3" : input.login!;
          stored = { provider: "serp", target: input.provider, account, settings: {}, connected_at: "2026-12-06T10:00:00Z", updated_at: "2026-12-06T10:00:00Z" };
          return send(200, stored);
        }
        if (url === base && request.method === "GET") return stored ? send(200, stored) : send(404, { detail: "Not connected" });
        if (url === base && request.method === "DELETE") {
          if (!stored) return send(404, { detail: "Not connected" });
          stored = null;
          return send(204);
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

  beforeEach(() => {
    stored = null;
    saved = [];
    tested = [];
  });

  function renderCard() {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <SerpConnectionCard projectId="p1" />
      </QueryClientProvider>,
    );
    return screen.getByRole("region", { name: "Rank provider" });
  }

  // A real HTTP exchange per step: several seconds on a busy machine, over the default 5 s.
  it("tests a SerpApi key before saving it, then shows the provider and account, never the key", { timeout: 15_000 }, async () => {
    const user = userEvent.setup();
    const card = renderCard();
    const form = await within(card).findByRole("form", { name: "Connect a rank provider" });
    const test = within(form).getByRole("button", { name: "Test connection" });
    expect(test).toBeDisabled();

    await fill(user, within(form).getByLabelText("API key"), "wrong-key-000");
    await user.click(test);
    const result = await within(form).findByRole("status", { name: "Connection test" });
    expect(result).toHaveAttribute("data-ok", "false");
    expect(result).toHaveTextContent("The provider refused the credential.");

    await user.clear(within(form).getByLabelText("API key"));
    await fill(user, within(form).getByLabelText("API key"), KEY);
    // The old result was for other values: it is gone.
    expect(within(form).queryByRole("status", { name: "Connection test" })).not.toBeInTheDocument();
    await user.click(test);
    await waitFor(() => expect(within(form).getByRole("status", { name: "Connection test" })).toHaveAttribute("data-ok", "true"));
    expect(tested).toEqual([
      { provider: "serpapi", api_key: "wrong-key-000" },
      { provider: "serpapi", api_key: KEY },
    ]);
    await user.click(within(form).getByRole("button", { name: "Save" }));

    const summary = await within(card).findByTestId("connection-summary");
    expect(saved).toEqual([{ provider: "serpapi", api_key: KEY }]);
    expect(summary).toHaveTextContent("Provider SerpApi");
    expect(summary).toHaveTextContent("for SerpApi key #a1b2c3");
    expect(summary).toHaveTextContent(/set on .*2026/);
    expect(card).not.toHaveTextContent(KEY);

    // The stored connection is tested without sending anything.
    await user.click(within(card).getByRole("button", { name: "Test connection" }));
    expect(await within(card).findByRole("status", { name: "Connection test" })).toHaveTextContent("Stored key: 4,990 searches left");
    expect(tested.at(-1)).toBeNull();
  });

  it("takes a DataForSEO login and password, and disconnects back to the form", { timeout: 15_000 }, async () => {
    const user = userEvent.setup();
    const card = renderCard();
    const form = await within(card).findByRole("form", { name: "Connect a rank provider" });
    await user.selectOptions(within(form).getByLabelText("Provider"), "dataforseo");
    expect(within(form).queryByLabelText("API key")).not.toBeInTheDocument();
    await fill(user, within(form).getByLabelText("API login"), LOGIN);
    expect(within(form).getByTestId("connect-form-missing")).toHaveTextContent("Enter the DataForSEO API login and password.");
    await fill(user, within(form).getByLabelText("API password"), "right");
    await user.click(within(form).getByRole("button", { name: "Test connection" }));
    await waitFor(() => expect(within(form).getByRole("status", { name: "Connection test" })).toHaveAttribute("data-ok", "true"));
    await user.click(within(form).getByRole("button", { name: "Save" }));

    const summary = await within(card).findByTestId("connection-summary");
    expect(saved).toEqual([{ provider: "dataforseo", login: LOGIN, password: "right" }]);
    expect(summary).toHaveTextContent("Provider DataForSEO");
    expect(summary).toHaveTextContent(`for ${LOGIN}`);

    await user.click(within(summary).getByRole("button", { name: "Disconnect" }));
    // jsdom has no showModal: the native dialog is reached through its title.
    const dialog = (await screen.findByRole("heading", { name: "Disconnect DataForSEO?", hidden: true })).closest("dialog")!;
    await user.click(within(dialog).getByRole("button", { name: "Disconnect", hidden: true }));
    expect(await within(card).findByRole("form", { name: "Connect a rank provider" })).toBeInTheDocument();
    expect(stored).toBeNull();
  });
});

describe("serpFormInput", () => {
  it("sends only the chosen provider's fields, trimmed", () => {
    expect(serpFormInput({ provider: "serpapi", apiKey: `  ${KEY} `, login: "x", password: "y" })).toEqual({
      ok: true,
      input: { provider: "serpapi", api_key: KEY },
    });
    expect(serpFormInput({ provider: "dataforseo", apiKey: KEY, login: ` ${LOGIN} `, password: " p " })).toEqual({
      ok: true,
      input: { provider: "dataforseo", login: LOGIN, password: " p " },
    });
    expect(serpFormInput({ provider: "serpapi", apiKey: "short", login: "", password: "" }).ok).toBe(false);
  });
});
