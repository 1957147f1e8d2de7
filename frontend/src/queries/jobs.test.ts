import http from "node:http";
import type { AddressInfo } from "node:net";
import { configureApiClient, setToken } from "@/lib/api";
import { fetchJobStatus } from "./jobs";

/** The status fetcher against an HTTP server speaking the API's ETag protocol: a 304 must
 * come back as "unchanged", not as an error, and the ETag must be sent back. */
describe("fetchJobStatus", () => {
  const job = { id: "0b6f", status: "running", progress_pct: 12 };
  const seen: Array<{ ifNoneMatch?: string; authorization?: string }> = [];
  let server: http.Server;

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      seen.push({
        ifNoneMatch: request.headers["if-none-match"],
        authorization: request.headers.authorization,
      });
      if (request.url !== `/api/v1/jobs/${job.id}`) {
        response.writeHead(404, { "Content-Type": "application/json" });
        response.end(JSON.stringify({ detail: "Job not found" }));
        return;
      }
      if (request.headers["if-none-match"] === '"v1"') {
        response.writeHead(304, { ETag: '"v1"' });
        response.end();
        return;
      }
      response.writeHead(200, { "Content-Type": "application/json", ETag: '"v1"' });
      response.end(JSON.stringify(job));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    configureApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    setToken("token-123");
  });

  afterAll(async () => {
    setToken(null);
    await new Promise((resolve) => server.close(resolve));
  });

  it("returns the job and its ETag, then 'unchanged' on 304", async () => {
    const signal = new AbortController().signal;
    const first = await fetchJobStatus(job.id, null, signal);
    expect(first).toEqual({ changed: true, job, etag: '"v1"' });
    const second = await fetchJobStatus(job.id, '"v1"', signal);
    expect(second).toEqual({ changed: false });
    expect(seen.slice(-2)).toEqual([
      { ifNoneMatch: undefined, authorization: "Bearer token-123" },
      { ifNoneMatch: '"v1"', authorization: "Bearer token-123" },
    ]);
  });

  it("throws the API's message for other answers", async () => {
    await expect(fetchJobStatus("missing", null, new AbortController().signal)).rejects.toMatchObject({
      status: 404,
      message: "Job not found",
    });
  });
});
