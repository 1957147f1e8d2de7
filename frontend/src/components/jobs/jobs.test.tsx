import { render, screen, within } from "@testing-library/react";
import type { JobPublic } from "@/client";
import { estimateStageEta, jobEta, StageProgressTracker } from "@/lib/eta";
import { JobPriorityBadge } from "./job-priority-badge";
import { JobProgress } from "./job-progress";
import { JobStatusBadge } from "./job-status-badge";
import { jobEvents } from "./job-timeline";

function makeJob(overrides: Partial<JobPublic> = {}): JobPublic {
  return {
    id: "5b0c7c4e-0000-4000-8000-000000000001",
    job_type: "audit",
    project_id: null,
    user_id: null,
    status: "running",
    stage: "crawl",
    queue: "default",
    priority: "interactive",
    progress_pct: 40,
    progress_message: "Crawling 40 / 100 pages",
    progress_current: 40,
    progress_total: 100,
    attempts: 1,
    max_attempts: 4,
    queued_at: "2026-11-22T10:00:00Z",
    started_at: "2026-11-22T10:00:01Z",
    finished_at: null,
    heartbeat_at: null,
    lease_expires_at: null,
    cancel_requested_at: null,
    next_retry_at: null,
    updated_at: "2026-11-22T10:00:11Z",
    config_json: {},
    result_json: null,
    error_category: null,
    error_message: null,
    dedupe_key: null,
    retry_of: null,
    ...overrides,
  };
}

describe("JobProgress", () => {
  it("shows the stage, counters, message and an accessible bar", () => {
    render(<JobProgress job={makeJob()} />);
    const bar = screen.getByRole("progressbar", { name: "Audit progress" });
    expect(bar).toHaveAttribute("aria-valuenow", "40");
    expect(bar).toHaveAttribute("aria-valuetext", "Crawling 40 / 100 pages");
    expect(screen.getByText("Crawling 40 / 100 pages")).toBeInTheDocument();
    // The width moves through a CSS transition, so polls glide instead of jumping.
    const fill = bar.firstElementChild as HTMLElement;
    expect(fill.style.width).toBe("40%");
    expect(fill.className).toContain("transition-[width]");
  });

  it("says estimating… until the stage has progressed between two polls, then the time left", () => {
    const { rerender } = render(<JobProgress job={makeJob({ id: "eta-job" })} />);
    expect(screen.getByTestId("job-eta")).toHaveTextContent("estimating…");
    // 10 pages more in 10 s: the 50 left take 50 s.
    rerender(
      <JobProgress
        job={makeJob({ id: "eta-job", progress_current: 50, progress_pct: 50, updated_at: "2026-11-22T10:00:21Z" })}
      />,
    );
    expect(screen.getByTestId("job-eta")).toHaveTextContent("~50s left in this stage");
  });

  it("starts estimating again when the job moves to its next stage", () => {
    const crawl = { id: "staged-job", stage: "crawl", progress_message: null };
    const { rerender } = render(<JobProgress job={makeJob({ ...crawl, progress_current: 0, progress_pct: 0 })} />);
    // A fast crawl: 100 pages in 2 s.
    rerender(
      <JobProgress job={makeJob({ ...crawl, progress_current: 100, progress_total: 100, progress_pct: 85, updated_at: "2026-11-22T10:00:13Z" })} />,
    );
    const render1 = { id: "staged-job", stage: "render", progress_message: null, progress_pct: 85 };
    rerender(<JobProgress job={makeJob({ ...render1, progress_current: 1, progress_total: 100, updated_at: "2026-11-22T10:00:14Z" })} />);
    expect(screen.getByTestId("job-eta")).toHaveTextContent("estimating…");
    // Rendering: 1 page in 0.8 s, so the 98 left take about 78 s (not the crawl's 2 s).
    rerender(<JobProgress job={makeJob({ ...render1, progress_current: 2, progress_total: 100, updated_at: "2026-11-22T10:00:14.800Z" })} />);
    expect(screen.getByTestId("job-eta")).toHaveTextContent("~1m 18s left in this stage");
  });

  it("shows no estimate for a job that is not running", () => {
    render(<JobProgress job={makeJob({ id: "queued-job", status: "queued" })} />);
    expect(screen.queryByTestId("job-eta")).toBeNull();
  });

  it("shows the counters when no message tells them", () => {
    render(<JobProgress job={makeJob({ progress_message: null })} />);
    expect(screen.getByText(/40 \/ 100/)).toBeInTheDocument();
  });

  it("is full when the job completed", () => {
    render(<JobProgress job={makeJob({ status: "completed", progress_pct: 97 })} />);
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
  });
});

describe("estimateStageEta", () => {
  const sample = (at: number, pct: number, current: number | null = null, total: number | null = null) => ({
    at,
    pct,
    current,
    total,
  });

  it("needs two samples with progress between them", () => {
    expect(estimateStageEta([])).toBeNull();
    expect(estimateStageEta([sample(0, 10, 5, 100)])).toBeNull();
    expect(estimateStageEta([sample(0, 10, 5, 100), sample(1000, 10, 5, 100)])).toBeNull();
  });

  it("uses the stage's counters, to the end of the stage", () => {
    // 20 of 100 done, 10 more a second: 8 s to the end of the stage, whatever the percentage.
    expect(estimateStageEta([sample(0, 85, 10, 100), sample(1000, 86, 20, 100)])).toEqual({ seconds: 8, until: "stage" });
  });

  it("falls back on the job's percentage when the counters do not move", () => {
    // Counters left over from an earlier write; the percentage moves 1 point a second.
    expect(estimateStageEta([sample(0, 60, 100, 100), sample(2000, 62, 100, 100)])).toEqual({ seconds: 38, until: "job" });
    expect(estimateStageEta([sample(0, 20), sample(1000, 30)])).toEqual({ seconds: 7, until: "job" });
  });
});

describe("StageProgressTracker", () => {
  it("keeps the samples of the current stage only", () => {
    const tracker = new StageProgressTracker();
    tracker.record("j", "1:crawl", { at: 0, pct: 0, current: 0, total: 10 });
    expect(tracker.record("j", "1:crawl", { at: 1000, pct: 40, current: 5, total: 10 })).toHaveLength(2);
    // The same write seen again (a 304, a re-render) is not a new sample.
    expect(tracker.record("j", "1:crawl", { at: 1000, pct: 40, current: 5, total: 10 })).toHaveLength(2);
    expect(tracker.record("j", "1:render", { at: 2000, pct: 85, current: 0, total: 3 })).toEqual([
      { at: 2000, pct: 85, current: 0, total: 3 },
    ]);
  });

  it("gives a running job no estimate until its stage has two samples", () => {
    const tracker = new StageProgressTracker();
    const job = { id: "j", status: "running", stage: "render", attempts: 1, progress_pct: 85, progress_current: 1, progress_total: 10, updated_at: "2026-11-22T10:00:00Z" };
    expect(jobEta(job, tracker)).toBeNull();
    expect(jobEta({ ...job, progress_current: 2, updated_at: "2026-11-22T10:00:01Z" }, tracker)).toEqual({ seconds: 8, until: "stage" });
    // A new attempt of the same stage starts over.
    expect(jobEta({ ...job, attempts: 2, progress_current: 3, updated_at: "2026-11-22T10:00:02Z" }, tracker)).toBeNull();
    expect(jobEta({ ...job, status: "queued" }, tracker)).toBeUndefined();
  });
});

describe("JobStatusBadge", () => {
  it.each(["queued", "running", "retrying", "completed", "failed", "cancelled"])("labels %s", (status) => {
    render(<JobStatusBadge status={status} />);
    const badge = screen.getByTestId("job-status");
    expect(badge).toHaveAttribute("data-status", status);
    expect(within(badge).getByText(status.charAt(0).toUpperCase() + status.slice(1))).toBeInTheDocument();
  });
});

describe("jobEvents", () => {
  it("tells the states of a failed retry in order", () => {
    const events = jobEvents(
      makeJob({
        status: "failed",
        attempts: 2,
        finished_at: "2026-11-22T10:01:00Z",
        cancel_requested_at: null,
        error_category: "transient",
      }),
    );
    expect(events.map((e) => e.label)).toEqual(["Queued", "Started attempt 2", "Failed"]);
    expect(events[2]!.detail).toBe("after 59s");
  });

  it("shows a scheduled retry and a cancel request", () => {
    const labels = jobEvents(
      makeJob({ status: "retrying", next_retry_at: "2026-11-22T10:02:00Z", cancel_requested_at: "2026-11-22T10:01:00Z" }),
    ).map((e) => e.label);
    expect(labels).toEqual(["Queued", "Started", "Cancel requested", "Retry scheduled"]);
  });
});

describe("JobPriorityBadge", () => {
  it("names the priority and says what it means", () => {
    render(<JobPriorityBadge priority="bulk" />);
    const badge = screen.getByTestId("job-priority");
    expect(badge).toHaveTextContent("Bulk");
    expect(badge).toHaveAttribute("data-priority", "bulk");
    expect(within(badge).getByTitle(/guaranteed share/)).toBeInTheDocument();
  });
});
