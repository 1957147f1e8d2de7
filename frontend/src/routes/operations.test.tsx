import { render, screen, within } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import type { JobStatsPublic } from "@/client";
import { QueuesCard, WaitingCard } from "./operations";

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
    waiting_by_priority: { interactive: 0, scheduled: 0, bulk: 0 },
    oldest_waiting_interactive: null,
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

describe("WaitingCard", () => {
  it("shows waiting jobs by priority and the oldest interactive one", () => {
    render(
      <MemoryRouter>
        <WaitingCard
          label={(type) => `Type ${type}`}
          stats={makeStats({
            waiting_by_priority: { interactive: 2, scheduled: 500, bulk: 7 },
            oldest_waiting_interactive: {
              id: "11111111-1111-1111-1111-111111111111",
              job_type: "audit",
              project_id: null,
              queued_at: "2026-11-22T10:00:00Z",
              waiting_seconds: 4,
            },
          })}
        />
      </MemoryRouter>,
    );

    const rows = screen.getAllByTestId("waiting-row");
    expect(rows.map((row) => [row.dataset.priority, row.textContent])).toEqual([
      ["interactive", "Interactive2"],
      ["scheduled", "Scheduled500"],
      ["bulk", "Bulk7"],
    ]);
    const oldest = screen.getByTestId("oldest-interactive");
    expect(oldest).toHaveTextContent("Type audit, waiting 4");
    expect(within(oldest).getByRole("link")).toHaveAttribute("href", "/jobs/11111111-1111-1111-1111-111111111111");
  });

  it("says when no interactive job waits", () => {
    render(
      <MemoryRouter>
        <WaitingCard label={(type) => type} stats={makeStats()} />
      </MemoryRouter>,
    );

    expect(screen.getByText("No interactive job is waiting.")).toBeInTheDocument();
  });
});
