import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { MetricPoint } from "@/client";
import { GscChart, MetricToggles } from "./gsc-chart";
import { compareSeries } from "./series";

const day = (date: string, clicks: number, provisional = false): MetricPoint => ({ date, clicks, impressions: clicks * 10, ctr: 0.1, position: 3.2, provisional });
const range = { start: "2026-12-01", end: "2026-12-03" };

describe("GscChart", () => {
  it("names the previous period and the provisional days in its legend, and lists its figures", () => {
    const days = compareSeries(range, [day("2026-12-01", 10), day("2026-12-02", 12), day("2026-12-03", 4, true)], {
      start: "2026-11-28",
      end: "2026-11-30",
      daily: [day("2026-11-28", 9)],
    });
    render(<GscChart title="Search performance by day" days={days} metrics={["clicks", "position"]} showPrevious />);
    const legend = screen.getByRole("list", { name: "Legend" });
    expect(legend).toHaveTextContent("Clicks");
    expect(legend).toHaveTextContent("Position");
    expect(legend).toHaveTextContent("Previous period");
    expect(legend).toHaveTextContent("Provisional");
    const table = screen.getByRole("table", { name: "Search performance by day" });
    const rows = within(table).getAllByRole("row");
    expect(within(rows[3]!).getAllByRole("cell").map((cell) => cell.textContent)).toEqual(["2026-12-03", "4", "3.2", "yes"]);
  });

  it("says so when the range has no data, and has no provisional legend for final days", () => {
    const { rerender } = render(<GscChart title="Chart" days={compareSeries(range, [])} metrics={["clicks"]} />);
    expect(screen.getByText("No data for this range")).toBeInTheDocument();
    rerender(<GscChart title="Chart" days={compareSeries(range, [day("2026-12-01", 1)])} metrics={["clicks"]} />);
    expect(screen.getByRole("list", { name: "Legend" })).not.toHaveTextContent("Provisional");
  });
});

describe("MetricToggles", () => {
  it("shows totals with their change, counting a lower position as better, and toggles lines", async () => {
    const onToggle = vi.fn();
    render(
      <MetricToggles
        totals={{ clicks: 1200, impressions: 30000, ctr: 0.04, position: 4.2 }}
        previous={{ clicks: 1000, impressions: 40000, ctr: 0.025, position: 6 }}
        selected={[]}
        onToggle={onToggle}
      />,
    );
    const clicks = screen.getByTestId("gsc-total-clicks");
    expect(clicks).toHaveTextContent("1,200");
    expect(clicks).toHaveTextContent("+20.0% vs previous period");
    expect(screen.getByTestId("gsc-total-ctr")).toHaveTextContent("4.00%");
    const position = screen.getByTestId("gsc-total-position");
    expect(position).toHaveTextContent("−30.0% vs previous period");
    expect(within(position).getByText(/vs previous period/).className).toContain("text-emerald-600");
    expect(within(screen.getByTestId("gsc-total-impressions")).getByText(/vs previous period/).className).toContain("text-red-600");
    await userEvent.setup().click(position);
    expect(onToggle).toHaveBeenCalledWith("position");
    expect(position).toHaveAttribute("aria-pressed", "false");
  });
});
