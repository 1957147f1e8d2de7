import { createProject, expect, logIn, signUp, test } from "./fixtures";

test("start an audit, watch it reach 100 %, open the report", async ({ page, platform, shoot }) => {
  await signUp(page);
  await createProject(page, "Audited site", platform.siteUrl);

  // Every status poll of the job: the answer, and whether it sent the last ETag back.
  const polls: Array<{ status: number; conditional: boolean }> = [];
  page.on("response", (response) => {
    if (/\/api\/v1\/jobs\/[0-9a-f-]{36}$/.test(response.url()) && response.request().method() === "GET") {
      polls.push({ status: response.status(), conditional: "if-none-match" in response.request().headers() });
    }
  });

  await page.getByTestId("start-audit").click();
  const row = page.getByTestId("job-row").first();
  await expect(row).toBeVisible();
  const bar = row.getByRole("progressbar");

  // Record what the bar shows while the audit runs: it must only move forward.
  const seen: number[] = [];
  await expect
    .poll(
      async () => {
        const value = Number(await bar.getAttribute("aria-valuenow"));
        if (seen[seen.length - 1] !== value) seen.push(value);
        if (value > 0 && value < 100 && seen.length === 2) await shoot("10-project-audit-running");
        return row.getAttribute("data-status");
      },
      { timeout: 90_000, intervals: [250] },
    )
    .toBe("completed");
  await expect(bar).toHaveAttribute("aria-valuenow", "100");
  expect(seen).toEqual([...seen].sort((a, b) => a - b));
  await shoot("11-project-audit-completed");
  // The project's page is longer than the screen; the sidebar runs its whole length (a fixed
  // one ended with the first screen, as full-page screenshots showed).
  const main = (await page.getByRole("main").boundingBox())!;
  const sidebar = (await page.getByTestId("sidebar").boundingBox())!;
  expect(main.y + main.height).toBeGreaterThan(page.viewportSize()!.height);
  expect(sidebar.y + sidebar.height).toBeGreaterThanOrEqual(main.y + main.height);
  // Polled while active, with If-None-Match after the first answer; 304s are fine.
  expect(polls.length).toBeGreaterThan(2);
  expect(polls.every((poll) => poll.status === 200 || poll.status === 304)).toBe(true);
  expect(polls.slice(1).every((poll) => poll.conditional)).toBe(true);

  await row.getByRole("link", { name: "Open report" }).click();
  await expect(page.getByRole("heading", { name: /Site audit/ })).toBeVisible();
  await expect(page.getByTestId("audit-pages-total")).not.toHaveText("0");
  await expect(page.getByTestId("audit-score")).toHaveText(/\d+/);
  await expect(page.getByRole("img", { name: "Pages by status code" })).toBeVisible();
  await shoot("12-audit-overview");

  await page.getByRole("tab", { name: /Issues/ }).click();
  const missingTitle = page.getByTestId("issue-group").first();
  await expect(missingTitle).toBeVisible();
  await missingTitle.locator("summary").click();
  await expect(missingTitle.getByText("How to fix it")).toBeVisible();
  await shoot("13-audit-issues");

  await page.getByRole("tab", { name: /Pages/ }).click();
  await expect(page.getByTestId("page-row").first()).toBeVisible();
  await page.getByLabel("Status").selectOption("4xx");
  await expect(page.getByTestId("page-row").first()).toContainText("404");
  await shoot("14-audit-pages");

  await page.getByRole("tab", { name: /Changes/ }).click();
  await expect(page.getByText("No earlier audit to compare with")).toBeVisible();

  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export pages (CSV)" }).click();
  expect((await download).suggestedFilename()).toMatch(/pages\.csv$/);

  // A second audit gives the project a trend and the report a diff.
  await page.getByRole("link", { name: "Audited site" }).click();
  await page.getByTestId("start-audit").click();
  await expect(page.getByTestId("job-row").first()).toHaveAttribute("data-status", "completed", { timeout: 90_000 });
  await expect(page.getByTestId("audit-row")).toHaveCount(2);
  await shoot("15-project-two-audits");
  await page.getByTestId("audit-row").first().getByRole("link").click();
  await page.getByRole("tab", { name: /Changes/ }).click();
  await expect(page.getByRole("region", { name: "Still there" })).toBeVisible();
  await shoot("16-audit-diff");
});

test("cancel a running audit", async ({ page, platform, shoot }) => {
  await signUp(page);
  await createProject(page, "Slow site", platform.slowSiteUrl);
  await page.getByTestId("start-audit").click();
  const row = page.getByTestId("job-row").first();
  await row.getByRole("link", { name: "Audit" }).click();
  const status = page.getByRole("heading", { level: 1 }).getByTestId("job-status");
  await expect(status).toHaveAttribute("data-status", "running", { timeout: 30_000 });
  await shoot("20-job-running");
  await page.getByRole("button", { name: "Cancel audit job" }).click();
  await expect(status).toHaveAttribute("data-status", "cancelled", { timeout: 30_000 });
  await expect(page.getByRole("list", { name: "Timeline" })).toContainText("Cancel requested");
  await expect(page.getByRole("button", { name: "Retry audit job" })).toBeVisible();
  await shoot("21-job-cancelled");
});

test("retry a failed job", async ({ page, platform, shoot }) => {
  // The slow site cannot be crawled within the platform's soft time limit (see platform.ts):
  // the audit fails with the partial result kept.
  await signUp(page);
  await createProject(page, "Too slow to finish", platform.slowSiteUrl);
  await page.getByTestId("start-audit").click();
  const row = page.getByTestId("job-row").first();
  await expect(row).toHaveAttribute("data-status", "failed", { timeout: 90_000 });
  await page.getByLabel("Status").selectOption("failed");
  await expect(page.getByTestId("job-row")).toHaveCount(1);
  await row.getByRole("link", { name: "Audit" }).click();
  await expect(page.getByTestId("job-error-message")).toContainText("time limit");
  await expect(page.getByRole("region", { name: "Error" })).toContainText("Time limit");
  await shoot("30-job-failed");
  const failedUrl = page.url();
  await page.getByRole("button", { name: "Retry audit job" }).click();
  await expect(page).not.toHaveURL(failedUrl);
  await expect(page.getByRole("heading", { name: "Earlier runs" })).toBeVisible();
  await expect(page.getByRole("heading", { level: 1 }).getByTestId("job-status")).toHaveAttribute("data-status", /queued|running/);
  await shoot("31-job-retried");
  await page.getByRole("button", { name: "Cancel audit job" }).click();
  await expect(page.getByRole("heading", { level: 1 }).getByTestId("job-status")).toHaveAttribute("data-status", "cancelled", { timeout: 30_000 });
});

test("operations page for superusers", async ({ page, platform, shoot }) => {
  await logIn(page, platform.admin.email, platform.admin.password);
  await page.getByRole("link", { name: "Operations" }).first().click();
  await expect(page.getByRole("heading", { name: "Operations" })).toBeVisible();
  await expect(page.getByTestId("queue-row").first()).toBeVisible();
  // Flower's address comes from the deployment (FLOWER_URL, a free port here), not the build.
  await expect(page.getByRole("link", { name: "Open Flower" })).toHaveAttribute("href", platform.flowerUrl);
  await page.getByRole("button", { name: "Run health check" }).click();
  await expect(page.getByText(/Maintenance job started/)).toBeVisible();
  await shoot("40-operations");
  // The failed audits of the earlier test are listed; retry them all at once.
  const failures = page.getByRole("table", { name: "Jobs" });
  await expect(failures.getByTestId("job-row").first()).toBeVisible();
  await page.getByRole("button", { name: "Retry all failed" }).click();
  await expect(page.getByText(/queued again/)).toBeVisible();
});
