import { render, screen } from "@testing-library/react";
import { ProjectForm } from "./project-form";

const noop = () => undefined;

describe("ProjectForm", () => {
  it("says at once when audits of the saved site would be refused", () => {
    const warning =
      "127.0.0.1 resolves to 127.0.0.1, a private or reserved address: audits of this site will be " +
      "refused unless the operator sets CRAWL_ALLOW_PRIVATE_NETWORKS=true";
    render(<ProjectForm submitLabel="Save" busy={false} siteWarning={warning} onSubmit={noop} onCancel={noop} />);
    expect(screen.getByRole("alert")).toHaveTextContent("CRAWL_ALLOW_PRIVATE_NETWORKS=true");
  });

  it("shows no warning for a site that can be audited", () => {
    render(<ProjectForm submitLabel="Save" busy={false} siteWarning={null} onSubmit={noop} onCancel={noop} />);
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });
});
