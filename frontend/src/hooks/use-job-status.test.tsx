import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, renderHook, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { ApiError } from "@/lib/api";
import { backoffDelay, useJobStatus, type JobPoll } from "./use-job-status";

type Job = { id: string; status: string; progress_pct: number };

const INTERVAL = 20;
const testKey = (id: string) => ["test-jobs", "detail", id] as const;

function wrapper() {
  const client = new QueryClient({ defaultOptions: { queries: { gcTime: Infinity } } });
  return ({ children }: { children: ReactNode }) => (
    <QueryClientProvider client={client}>{children}</QueryClientProvider>
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fetcher that answers from a script, one entry per poll; the last entry repeats. */
function scripted(script: Array<JobPoll<Job> | Error>) {
  const calls: Array<{ etag: string | null; at: number }> = [];
  const fetcher = vi.fn(async (_id: string, etag: string | null) => {
    calls.push({ etag, at: performance.now() });
    const next = script[Math.min(calls.length - 1, script.length - 1)]!;
    if (next instanceof Error) throw next;
    return next;
  });
  return { fetcher, calls };
}

const job = (status: string, pct = 0): JobPoll<Job> => ({
  changed: true,
  job: { id: "j1", status, progress_pct: pct },
  etag: `"${status}-${pct}"`,
});

function setVisibility(state: "visible" | "hidden") {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => state === "hidden" });
  document.dispatchEvent(new Event("visibilitychange"));
}

afterEach(() => setVisibility("visible"));

describe("useJobStatus", () => {
  it("keeps the job under its source's query key, the one other code reads and invalidates", async () => {
    const client = new QueryClient();
    const { fetcher } = scripted([job("completed", 100)]);
    const { result } = renderHook(() => useJobStatus("j1", { queryKey: testKey, fetch: fetcher }), {
      wrapper: ({ children }: { children: ReactNode }) => (
        <QueryClientProvider client={client}>{children}</QueryClientProvider>
      ),
    });
    await waitFor(() => expect(result.current.data?.status).toBe("completed"));
    expect(client.getQueryData(testKey("j1"))).toEqual({ id: "j1", status: "completed", progress_pct: 100 });
  });

  it.each(["completed", "failed", "cancelled"])("stops polling once the job is %s", async (terminal) => {
    const { fetcher } = scripted([job("queued"), job("running", 40), job(terminal, 100)]);
    const { result } = renderHook(() => useJobStatus("j1", { queryKey: testKey, fetch: fetcher }, { intervalMs: INTERVAL }), {
      wrapper: wrapper(),
    });
    await waitFor(() => expect(result.current.data?.status).toBe(terminal));
    const callsAtTerminal = fetcher.mock.calls.length;
    expect(callsAtTerminal).toBe(3);
    await sleep(INTERVAL * 8);
    expect(fetcher).toHaveBeenCalledTimes(callsAtTerminal);
  });

  it("sends the last ETag and keeps the cached job on 304", async () => {
    const first = job("running", 10);
    const { fetcher, calls } = scripted([first, { changed: false }]);
    const { result } = renderHook(() => useJobStatus("j1", { queryKey: testKey, fetch: fetcher }, { intervalMs: INTERVAL }), {
      wrapper: wrapper(),
    });
    await waitFor(() => expect(calls.length).toBeGreaterThanOrEqual(4));
    expect(calls[0]!.etag).toBeNull();
    expect(calls.slice(1).every((call) => call.etag === '"running-10"')).toBe(true);
    expect(result.current.data).toBe((first as { job: Job }).job);
    expect(result.current.isError).toBe(false);
  });

  it("backs off exponentially on errors and recovers", async () => {
    const failure = new ApiError(503, "unavailable");
    const { fetcher, calls } = scripted([failure, failure, failure, failure, job("running", 5), job("completed", 100)]);
    const { result } = renderHook(
      () => useJobStatus("j1", { queryKey: testKey, fetch: fetcher }, { intervalMs: INTERVAL, maxBackoffMs: INTERVAL * 8 }),
      { wrapper: wrapper() },
    );
    await waitFor(() => expect(result.current.data?.status).toBe("completed"), { timeout: 3000 });
    const gaps = calls.slice(1, 5).map((call, i) => call.at - calls[i]!.at);
    // Waits after 1, 2, 3 failures: 40, 80, 160 (capped) ms; each at least the backoff asked.
    expect(gaps[0]!).toBeGreaterThanOrEqual(INTERVAL * 2 - 5);
    expect(gaps[1]!).toBeGreaterThanOrEqual(INTERVAL * 4 - 5);
    expect(gaps[2]!).toBeGreaterThanOrEqual(INTERVAL * 8 - 5);
    expect(gaps[3]!).toBeGreaterThanOrEqual(INTERVAL * 8 - 5);
    expect(gaps[3]!).toBeLessThan(INTERVAL * 16);
  });

  it("computes a capped exponential backoff", () => {
    expect(backoffDelay(0, 2000, 30000)).toBe(2000);
    expect(backoffDelay(1, 2000, 30000)).toBe(4000);
    expect(backoffDelay(3, 2000, 30000)).toBe(16000);
    expect(backoffDelay(10, 2000, 30000)).toBe(30000);
  });

  it("stops on 404 (the job is gone or not ours)", async () => {
    const { fetcher } = scripted([new ApiError(404, "Job not found")]);
    const { result } = renderHook(() => useJobStatus("j1", { queryKey: testKey, fetch: fetcher }, { intervalMs: INTERVAL }), {
      wrapper: wrapper(),
    });
    await waitFor(() => expect(result.current.isError).toBe(true));
    await sleep(INTERVAL * 6);
    expect(fetcher).toHaveBeenCalledTimes(1);
  });

  it("pauses while the tab is hidden and resumes when it shows again", async () => {
    const { fetcher } = scripted([job("running", 10)]);
    const { result } = renderHook(() => useJobStatus("j1", { queryKey: testKey, fetch: fetcher }, { intervalMs: INTERVAL }), {
      wrapper: wrapper(),
    });
    await waitFor(() => expect(result.current.data?.status).toBe("running"));
    act(() => setVisibility("hidden"));
    await sleep(INTERVAL * 2);
    const whileHidden = fetcher.mock.calls.length;
    await sleep(INTERVAL * 8);
    expect(fetcher).toHaveBeenCalledTimes(whileHidden);
    act(() => setVisibility("visible"));
    await waitFor(() => expect(fetcher.mock.calls.length).toBeGreaterThan(whileHidden + 1));
  });

  it("does nothing without a job id", async () => {
    const { fetcher } = scripted([job("running")]);
    renderHook(() => useJobStatus(undefined, { queryKey: testKey, fetch: fetcher }, { intervalMs: INTERVAL }), { wrapper: wrapper() });
    await sleep(INTERVAL * 4);
    expect(fetcher).not.toHaveBeenCalled();
  });
});
