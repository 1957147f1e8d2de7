import { render, screen, within } from "@testing-library/react";
import type { JobStatsPublic } from "@/client";
import { QueuesCard } from "./operations";

function makeStats(overrides: Partial<JobStatsPublic> = {}): JobStatsPublic {
  return {
    window_hours: 24,
    since: "2026-11-22T10:00:00Z",
    total: 3,
    by_status: { queued: 3 },
    by_type: { audit: { queued: 3 } },
    active: 3,
    success_rate: null,
    duration_seconds: null,
    pickup_latency_seconds: null,
    queues: [
      { name: "default", depth: 0, oldest_message_age_seconds: null },
      { name: "render", depth: 3, oldest_message_age_seconds: 600 },
      { name: "low", depth: 0, oldest_message_age_seconds: null },
    ],
    queues_without_consumer: [],
    workers: { online: 1, names: ["default@host"], checked_at: null },
    ...overrides,
  };
}

describe("QueuesCard", () => {
  it("names the queues that have jobs but no consumer", () => {
    render(<QueuesCard stats={makeStats({ queues_without_consumer: ["render"] })} />);

    expect(screen.getByRole("alert")).toHaveTextContent("Jobs wait in render but no worker consumes it");
    const [defaultRow, renderRow] = screen.getAllByTestId("queue-row") as [HTMLElement, HTMLElement];
    expect(within(renderRow).getByText("no consumer")).toBeInTheDocument();
    expect(within(defaultRow).queryByText("no consumer")).toBeNull();
  });

  it("says nothing when every queue with jobs has a consumer", () => {
    render(<QueuesCard stats={makeStats()} />);

    expect(screen.queryByRole("alert")).toBeNull();
    expect(screen.queryByText("no consumer")).toBeNull();
  });
});
