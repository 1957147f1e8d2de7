import http from "node:http";
import type { AddressInfo } from "node:net";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { configureApiClient, getToken, setToken } from "@/lib/api";
import { AccountPage } from "./account";

type Token = {
  id: string;
  name: string;
  scope: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
};

/** An HTTP server speaking the account API: tokens kept in memory, one password. */
describe("AccountPage", () => {
  let server: http.Server;
  let tokens: Token[] = [];
  let password = "old-password";
  let digest = { timezone: "UTC", digest_enabled: true };

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
        if (url === "/api/v1/users/me/tokens" && request.method === "GET") {
          return send(200, { data: tokens, count: tokens.length });
        }
        if (url === "/api/v1/users/me/tokens" && request.method === "POST") {
          const { name, scope } = JSON.parse(body) as { name: string; scope: string };
          const token = {
            id: `t${tokens.length + 1}`,
            name,
            scope,
            prefix: "seo_pat_abcd",
            created_at: "2026-11-30T09:00:00Z",
            last_used_at: null,
          };
          tokens = [token, ...tokens];
          return send(201, { ...token, token: "seo_pat_abcdSECRET" });
        }
        if (url.startsWith("/api/v1/users/me/tokens/") && request.method === "DELETE") {
          tokens = tokens.filter((token) => !url.endsWith(`/${token.id}`));
          return send(204);
        }
        if (url === "/api/v1/users/me/notifications") {
          if (request.method === "PUT") digest = { ...digest, ...(JSON.parse(body) as Partial<typeof digest>) };
          return send(200, digest);
        }
        if (url === "/api/v1/users/me/password" && request.method === "POST") {
          const change = JSON.parse(body) as { current_password: string; new_password: string };
          if (change.current_password !== password) {
            return send(400, { detail: "The current password is wrong" });
          }
          password = change.new_password;
          return send(200, { access_token: "fresh-token", token_type: "bearer" });
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

  function renderPage() {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <AccountPage />
      </QueryClientProvider>,
    );
  }

  it("creates a token, shows it once, lists and revokes it", async () => {
    const user = userEvent.setup();
    renderPage();
    expect(await screen.findByText("No API tokens")).toBeInTheDocument();

    const form = screen.getByRole("form", { name: "Create API token" });
    await user.type(within(form).getByLabelText("Name"), "nightly report");
    await user.selectOptions(within(form).getByLabelText("Scope"), "write");
    await user.click(within(form).getByRole("button", { name: "Create token" }));

    expect(await screen.findByTestId("new-token")).toHaveTextContent("seo_pat_abcdSECRET");
    const row = await screen.findByTestId("token-row");
    expect(row).toHaveTextContent("nightly report");
    expect(row).toHaveTextContent("read and write");
    expect(row).toHaveTextContent("never");
    expect(row).not.toHaveTextContent("SECRET");

    await user.click(screen.getByRole("button", { name: "Done" }));
    expect(screen.queryByTestId("new-token")).not.toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Revoke nightly report" }));
    await waitFor(() => expect(screen.queryByTestId("token-row")).not.toBeInTheDocument());
  });

  it("changes the password and keeps the session on the new token", async () => {
    const user = userEvent.setup();
    renderPage();
    const form = screen.getByRole("form", { name: "Change password" });
    await user.type(within(form).getByLabelText("Current password"), "old-password");
    await user.type(within(form).getByLabelText("New password"), "a-new-password");
    await user.click(within(form).getByRole("button", { name: "Change password" }));
    await waitFor(() => expect(getToken()).toBe("fresh-token"));
    expect(password).toBe("a-new-password");
  });

  it("sets the digest's time zone and turns the digest off", async () => {
    const user = userEvent.setup();
    renderPage();
    const form = await screen.findByRole("form", { name: "Daily digest" });
    const zone = within(form).getByLabelText("Time zone");
    await waitFor(() => expect(zone).toHaveValue("UTC"));
    await user.clear(zone);
    await user.type(zone, "Europe/Paris");
    await user.click(within(form).getByRole("button", { name: "Save time zone" }));
    await waitFor(() => expect(digest.timezone).toBe("Europe/Paris"));
    await user.click(within(form).getByLabelText("Send me a daily digest"));
    await waitFor(() => expect(digest.digest_enabled).toBe(false));
  });
});
