import http from "node:http";
import type { AddressInfo } from "node:net";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { configureApiClient, setToken } from "@/lib/api";
import { GscConnectForm } from "./gsc-connect-form";

const KEY = { type: "service_account", client_email: "sync@seo.iam.gserviceaccount.com", private_key: "-----BEGIN PRIVATE KEY-----" };

/** An HTTP server speaking the Search Console connection API: one property the credential
 * can see, with the permission level in the test's detail. */
describe("GscConnectForm", () => {
  let server: http.Server;
  let saved: unknown[] = [];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        const send = (status: number, payload: unknown) => {
          response.writeHead(status, { "Content-Type": "application/json" });
          response.end(JSON.stringify(payload));
        };
        const url = request.url ?? "";
        if (url === "/api/v1/projects/p1/gsc/connection/test" && request.method === "POST") {
          const { property } = JSON.parse(body) as { property: string };
          if (property === "sc-domain:example.com") return send(200, { ok: true, detail: "Permission level: siteOwner", choices: [] });
          return send(200, { ok: false, detail: `The credential cannot see ${property}.`, choices: ["sc-domain:example.com", "https://blog.example.com/"] });
        }
        if (url === "/api/v1/projects/p1/gsc/connection" && request.method === "PUT") {
          const input = JSON.parse(body) as { property: string };
          saved.push(input);
          return send(200, { provider: "gsc", target: input.property, account: KEY.client_email, settings: {}, connected_at: "2026-12-06T10:00:00Z", updated_at: "2026-12-06T10:00:00Z" });
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
    saved = [];
  });

  function renderForm(onSaved = vi.fn()) {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <GscConnectForm projectId="p1" onSaved={onSaved} />
      </QueryClientProvider>,
    );
    return { form: screen.getByRole("form", { name: "Connect Search Console" }), onSaved };
  }

  it("tests, offers the properties the credential can see, and saves once the test passes", async () => {
    const user = userEvent.setup();
    const { form, onSaved } = renderForm();
    const test = within(form).getByRole("button", { name: "Test connection" });
    expect(test).toBeDisabled();

    await user.type(within(form).getByLabelText("Property"), "sc-domain:typo.com");
    await user.click(within(form).getByLabelText("Credentials (JSON)"));
    await user.paste(JSON.stringify(KEY));
    expect(within(form).getByText(`Service account: ${KEY.client_email}`)).toBeInTheDocument();

    await user.click(test);
    const failed = await within(form).findByRole("status", { name: "Connection test" });
    expect(failed).toHaveTextContent("The credential cannot see sc-domain:typo.com.");
    await user.click(within(failed).getByRole("button", { name: "sc-domain:example.com" }));
    expect(within(form).getByLabelText("Property")).toHaveValue("sc-domain:example.com");
    // The old result was for other values: it is gone.
    expect(within(form).queryByRole("status", { name: "Connection test" })).not.toBeInTheDocument();

    await user.click(test);
    expect(await within(form).findByRole("status", { name: "Connection test" })).toHaveTextContent("Permission level: siteOwner");
    await user.click(within(form).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(onSaved).toHaveBeenCalledOnce());
    expect(saved).toEqual([{ property: "sc-domain:example.com", credentials: KEY }]);
  });

  it("asks before saving a connection that was not tested", async () => {
    const user = userEvent.setup();
    const { form, onSaved } = renderForm();
    await user.type(within(form).getByLabelText("Property"), "sc-domain:example.com");
    await user.click(within(form).getByLabelText("Credentials (JSON)"));
    await user.paste(JSON.stringify(KEY));
    await user.click(within(form).getByRole("button", { name: "Save" }));
    expect(within(form).getByRole("alert")).toHaveTextContent("This connection has not been tested.");
    expect(saved).toEqual([]);
    await user.click(within(form).getByRole("button", { name: "Save anyway" }));
    await waitFor(() => expect(onSaved).toHaveBeenCalledOnce());
    await waitFor(() => expect(within(form).getByRole("button", { name: /Save/ })).not.toHaveAttribute("aria-busy"));
  });
});
