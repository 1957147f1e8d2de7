import { fireEvent, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { presetChoice, RangePicker } from "./range-picker";

describe("RangePicker", () => {
  it("offers the presets, and two dates of one's own that must be in order", async () => {
    const onChange = vi.fn();
    const value = presetChoice("28d", "2026-12-06");
    const { rerender } = render(<RangePicker value={value} onChange={onChange} />);
    expect(screen.getByRole("button", { name: "Last 28 days" })).toHaveAttribute("aria-pressed", "true");
    await userEvent.setup().click(screen.getByRole("button", { name: "Last 16 months" }));
    expect(onChange.mock.calls[0]![0]).toMatchObject({ preset: "16m" });

    rerender(<RangePicker value={{ preset: "custom", range: value.range }} onChange={onChange} />);
    expect(screen.getByLabelText("From")).toHaveValue("2026-11-09");
    fireEvent.change(screen.getByLabelText("From"), { target: { value: "2026-10-01" } });
    expect(onChange).toHaveBeenLastCalledWith({ preset: "custom", range: { start: "2026-10-01", end: "2026-12-06" } });
    onChange.mockClear();
    // After the end: not a range.
    fireEvent.change(screen.getByLabelText("From"), { target: { value: "2026-12-31" } });
    expect(onChange).not.toHaveBeenCalled();
  });

  it("lists only the presets asked for", () => {
    render(<RangePicker value={presetChoice("7d", "2026-12-06")} onChange={() => {}} presets={["7d", "28d", "90d"]} />);
    expect(screen.queryByRole("button", { name: "Last 16 months" })).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Custom" })).toBeInTheDocument();
  });
});
