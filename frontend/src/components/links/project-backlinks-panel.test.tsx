import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ProjectPublic } from "@/client";
import { client } from "@/client/client.gen";
import { ProjectBacklinksPanel } from "./project-backlinks-panel";

const page = (data: unknown[]) => ({ data, count: data.length, has_more: false, count_is_estimate: false });

const ANSWERS: [RegExp, unknown][] = [
  [
    /\/backlinks\?/,
    page([
      {
        source_url: "https://blog.test/post",
        target_url: "https://example.com/",
        referring_domain: "blog.test",
        anchor: "Crème brûlée",
        source_title: null,
        first_seen: "2024-01-31",
        last_seen: "2024-03-01",
        lost: true,
        lost_on: "2024-03-04",
        nofollow: true,
        ugc: false,
        sponsored: false,
        authority: 45,
      },
    ]),
  ],
  [/\/backlinks\/referring-domains/, page([{ domain: "blog.test", links: 1, dofollow_links: 0, lost_links: 1, first_seen: null, last_seen: null }])],
  [/\/backlinks\/anchors/, { data: [{ anchor: "Crème brûlée", links: 1, referring_domains: 1 }] }],
  [/\/backlinks\/timeline/, { interval: "week", start: "2024-01-01", end: "2024-06-01", data: [] }],
  [
    /\/links\/imports/,
    page([
      {
        id: "i1",
        project_id: "p1",
        job_id: "j1",
        status: "completed",
        file_name: "ahrefs.csv",
        format: "ahrefs",
        format_label: "Ahrefs",
        authority_metric: "Domain rating",
        encoding: "utf-16-le",
        bytes: 100,
        rows: 3,
        accepted: 2,
        rejected: 1,
        new: 2,
        updated: 0,
        created_at: "2026-12-06T10:00:00Z",
        finished_at: "2026-12-06T10:00:05Z",
      },
    ]),
  ],
];

describe("ProjectBacklinksPanel", () => {
  it("shows the backlinks, their domains, anchors and imports, and uploads a file", async () => {
    client.setConfig({ baseUrl: "http://api.test" });
    const posted: Request[] = [];
    const fetchMock = vi.fn(async (input: RequestInfo | URL) => {
      const request = input instanceof Request ? input : new Request(String(input));
      if (request.method === "POST") {
        posted.push(request);
        return Response.json({ id: "j2", status: "queued" }, { status: 202 });
      }
      const answer = ANSWERS.find(([pattern]) => pattern.test(request.url));
      return Response.json(answer ? answer[1] : {}, { status: answer ? 200 : 404 });
    });
    vi.stubGlobal("fetch", fetchMock);
    client.setConfig({ fetch: fetchMock as unknown as typeof fetch });
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <ProjectBacklinksPanel project={{ id: "p1" } as ProjectPublic} />
      </QueryClientProvider>,
    );
    const row = await screen.findByTestId("backlink-row");
    expect(row).toHaveTextContent("blog.test");
    expect(row).toHaveTextContent("nofollow");
    expect(row).toHaveTextContent("lost");
    expect(await screen.findByTestId("link-import-row")).toHaveTextContent("Ahrefs");
    expect(screen.getAllByText("Crème brûlée").length).toBeGreaterThan(1);

    const file = new File(["Referring page URL\tTarget URL\n"], "export.csv", { type: "text/csv" });
    await userEvent.upload(screen.getByTestId("links-file"), file);
    await waitFor(() => expect(posted).toHaveLength(1));
    expect(posted[0]!.url).toBe("http://api.test/api/v1/projects/p1/links/import");
    const form = await posted[0]!.formData();
    // The part is there (jsdom's File loses its name and bytes on the way through Node's
    // Request, which a browser does not: the backend tests cover the body itself).
    expect(form.has("file")).toBe(true);
    vi.unstubAllGlobals();
  });
});
