import { render, screen } from "@testing-library/react";
import { ChangeArrow } from "./change-arrow";

describe("ChangeArrow", () => {
  it("shows places gained as up and lost as down", () => {
    const { rerender } = render(<ChangeArrow change={3} label="7 days" />);
    expect(screen.getByLabelText("7 days: up 3")).toHaveTextContent("▲ 3");
    rerender(<ChangeArrow change={-2} label="7 days" />);
    expect(screen.getByLabelText("7 days: down 2")).toHaveTextContent("▼ 2");
  });

  it("says when there is no figure (not ranked, or not checked that far back)", () => {
    render(<ChangeArrow change={null} label="30 days" />);
    expect(screen.getByLabelText("30 days: no change figure")).toBeInTheDocument();
  });
});
