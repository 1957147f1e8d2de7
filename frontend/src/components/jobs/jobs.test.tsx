import { render, screen, within } from "@testing-library/react";
import type { JobPublic } from "@/client";
import { estimateEtaSeconds, progressFraction } from "@/lib/eta";
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

  it("shows an ETA from the observed rate once two samples exist", () => {
    const { rerender } = render(<JobProgress job={makeJob({ id: "eta-job" })} />);
    expect(screen.queryByTestId("job-eta")).toBeNull();
    // 10 % more in 10 s: the 50 % left take 50 s.
    rerender(
      <JobProgress
        job={makeJob({ id: "eta-job", progress_current: 50, progress_pct: 50, updated_at: "2026-11-22T10:00:21Z" })}
      />,
    );
    expect(screen.getByTestId("job-eta")).toHaveTextContent("~50s left");
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

describe("estimateEtaSeconds", () => {
  it("needs progress over time", () => {
    expect(estimateEtaSeconds([])).toBeNull();
    expect(estimateEtaSeconds([{ at: 0, fraction: 0.1 }])).toBeNull();
    expect(estimateEtaSeconds([{ at: 0, fraction: 0.1 }, { at: 1000, fraction: 0.1 }])).toBeNull();
    expect(estimateEtaSeconds([{ at: 0, fraction: 0.2 }, { at: 4000, fraction: 0.6 }])).toBeCloseTo(4);
  });

  it("uses the job's percentage, the counters only without one", () => {
    expect(progressFraction({ progress_pct: 10, progress_current: 3, progress_total: 4 })).toBe(0.1);
    expect(progressFraction({ progress_pct: 0, progress_current: 3, progress_total: 4 })).toBe(0.75);
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
