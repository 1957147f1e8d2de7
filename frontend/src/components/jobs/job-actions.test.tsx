import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, within } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router";
import type { JobPublic } from "@/client";
import { Chart } from "@/components/charts/chart";
import { histogram } from "@/components/charts/histogram";
import { JobActions } from "./job-actions";

function wrap(children: ReactNode) {
  return (
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter>{children}</MemoryRouter>
    </QueryClientProvider>
  );
}

const job = (status: string, extra: Partial<JobPublic> = {}) =>
  ({ id: "j", job_type: "audit", status, cancel_requested_at: null, ...extra }) as JobPublic;

describe("JobActions", () => {
  it.each(["queued", "running", "retrying"])("offers cancel while %s", (status) => {
    render(wrap(<JobActions job={job(status)} />));
    expect(screen.getByRole("button", { name: "Cancel audit job" })).toBeEnabled();
  });

  it("shows a requested cancel as pending", () => {
    render(wrap(<JobActions job={job("running", { cancel_requested_at: "2026-11-22T10:00:00Z" })} />));
    expect(screen.getByRole("button", { name: "Cancel audit job" })).toBeDisabled();
    expect(screen.getByText("Cancelling…")).toBeInTheDocument();
  });

  it.each(["failed", "cancelled"])("offers retry when %s", (status) => {
    render(wrap(<JobActions job={job(status)} />));
    expect(screen.getByRole("button", { name: "Retry audit job" })).toBeInTheDocument();
  });

  it("offers nothing for a completed job", () => {
    const { container } = render(wrap(<JobActions job={job("completed")} />));
    expect(container).toBeEmptyDOMElement();
  });
});

describe("Chart", () => {
  it("tells its figures to screen readers and says when there are none", () => {
    render(
      <Chart
        title="Pages by depth"
        kind="bar"
        x="depth"
        data={[
          { depth: 0, pages: 1 },
          { depth: 1, pages: 7 },
        ]}
        series={[{ key: "pages", label: "Pages" }]}
      />,
    );
    expect(screen.getByRole("img", { name: "Pages by depth" })).toBeInTheDocument();
    const table = screen.getByRole("table");
    expect(table).toHaveTextContent("Pages by depth");
    expect(within(table).getAllByRole("cell").map((cell) => cell.textContent)).toEqual(["0", "1", "1", "7"]);
    render(<Chart title="Empty" kind="line" x="a" data={[] as { a: number }[]} series={[]} emptyText="Nothing yet" />);
    expect(screen.getByText("Nothing yet")).toBeInTheDocument();
  });
});

describe("histogram", () => {
  it("puts each value in its bucket, the last one open-ended", () => {
    const rows = histogram([5, 99, 100, 400, 9000], [0, 100, 500], (low, high) => `${low}-${high ?? "∞"}`);
    expect(rows).toEqual([
      { bucket: "0-100", count: 2 },
      { bucket: "100-500", count: 2 },
      { bucket: "500-∞", count: 1 },
    ]);
  });
});
