import http from "node:http";
import type { AddressInfo } from "node:net";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, within } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router";
import type { JobTypePublic, ProjectPublic, UserPublic } from "@/client";
import { configureApiClient, setToken } from "@/lib/api";
import { JobFilters } from "./job-filters";
import { JobStarters } from "./job-starters";

/** The job types the dashboard offers come from GET /jobs/types (served here by a real HTTP
 * server, read through the generated client and the query factory). */
let types: JobTypePublic[] = [];
let server: http.Server;

beforeAll(async () => {
  server = http.createServer((request, response) => {
    if (request.url === "/api/v1/jobs/types") {
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ data: types, count: types.length }));
      return;
    }
    response.writeHead(404, { "Content-Type": "application/json" });
    response.end(JSON.stringify({ detail: "Not Found" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  configureApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  setToken("token-123");
});

afterAll(async () => {
  setToken(null);
  await new Promise((resolve) => server.close(resolve));
});

// A declared type that cannot run (its domain's tasks are not registered on this deployment);
// the generated enum only knows today's declared types, hence the casts.
const notYet = (name: string) => name as JobTypePublic["job_type"];

const TYPES: JobTypePublic[] = [
  { job_type: "audit", label: "Site audit", startable: true },
  { job_type: notYet("gsc_sync"), label: "Search Console sync", startable: false },
  { job_type: notYet("serp_refresh"), label: "SERP refresh", startable: false },
  { job_type: "maintenance", label: "Maintenance", startable: true },
];

function renderWithApi(ui: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter>{ui}</MemoryRouter>
    </QueryClientProvider>,
  );
}

const project = { id: "p1", name: "Site" } as ProjectPublic;
const user = { id: "u1", is_superuser: false } as UserPublic;

describe("job types from the API", () => {
  it("lists in the type filter only the types that can run, with the API's labels", async () => {
    types = TYPES;
    renderWithApi(<JobFilters status="" jobType="" onChange={() => {}} />);
    const select = screen.getByRole("combobox", { name: "Type" });
    await within(select).findByRole("option", { name: "Maintenance" });
    expect(within(select).getAllByRole("option").map((option) => option.textContent)).toEqual([
      "All types",
      "Site audit",
      "Maintenance",
    ]);
    expect(within(select).getByRole("option", { name: "Site audit" })).toHaveValue("audit");
  });

  it("offers a start button only for a type the API says can run", async () => {
    types = TYPES;
    const { unmount } = renderWithApi(<JobStarters project={project} user={user} />);
    expect(await screen.findByRole("button", { name: "Run audit" })).toBeInTheDocument();
    unmount();

    // A deployment whose audit task is not registered: no button to start what cannot run.
    types = TYPES.map((type) => (type.job_type === "audit" ? { ...type, startable: false } : type));
    renderWithApi(
      <>
        <JobStarters project={project} user={user} />
        <JobFilters status="" jobType="" onChange={() => {}} />
      </>,
    );
    const select = screen.getByRole("combobox", { name: "Type" });
    await within(select).findByRole("option", { name: "Maintenance" });
    expect(screen.queryByRole("button", { name: "Run audit" })).toBeNull();
  });
});
