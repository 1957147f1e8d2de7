import { createProject, expect, signUp, test } from "./fixtures";

// The figures as the dashboard writes them (en).
const number = (value: number) => new Intl.NumberFormat("en").format(value);
const money = (value: number, currency: string) => new Intl.NumberFormat("en", { style: "currency", currency }).format(value);

test("connect Search Console, sync, read the charts and a query's own chart", async ({ page, platform, shoot }) => {
  const { google } = platform;
  await signUp(page);
  await createProject(page, "Searched site", platform.siteUrl);

  const section = page.getByRole("region", { name: "Search Console", exact: true });
  const form = section.getByRole("form", { name: "Connect Search Console" });
  // A property the credential cannot see: the test lists those it can; a click picks one.
  await form.getByLabel("Property").fill("sc-domain:not-mine.example");
  await form.getByLabel("Credentials (JSON)").fill(JSON.stringify(google.service_account));
  await expect(form.getByText(`Service account: ${google.service_account.client_email}`)).toBeVisible();
  await form.getByRole("button", { name: "Test connection" }).click();
  const result = form.getByRole("status", { name: "Connection test" });
  await expect(result).toHaveAttribute("data-ok", "false");
  await result.getByRole("button", { name: google.gsc.property }).click();
  await expect(form.getByLabel("Property")).toHaveValue(google.gsc.property);
  await form.getByRole("button", { name: "Test connection" }).click();
  await expect(result).toHaveAttribute("data-ok", "true");
  await expect(result).toContainText(google.gsc.permission);
  await shoot("50-gsc-connect-tested");
  await form.getByRole("button", { name: "Save" }).click();

  // Connected: what was set, when and for whom; never the secret.
  const summary = section.getByTestId("connection-summary");
  await expect(summary).toContainText(google.gsc.property);
  await expect(summary).toContainText(google.service_account.client_email);

  await section.getByRole("button", { name: "Sync now" }).click();
  const job = section.getByTestId("sync-job");
  await expect(job.getByRole("progressbar")).toBeVisible();
  await expect(job).toHaveAttribute("data-status", "completed", { timeout: 60_000 });

  // The default range (last 28 days) shows the property's totals, anonymised queries included.
  await expect(section.getByTestId("gsc-total-clicks").getByTestId("metric-value")).toHaveText(number(google.gsc.clicks));
  await expect(section.getByTestId("gsc-total-impressions").getByTestId("metric-value")).toHaveText(number(google.gsc.impressions));
  await expect(section.getByRole("img", { name: "Search performance by day" })).toBeVisible();
  const legend = section.getByRole("list", { name: "Legend" });
  await expect(legend).toContainText("Provisional");
  // The first sync took 28 days: the 28 before are not there to compare with.
  await expect(section.getByTestId("gsc-previous-incomplete")).toContainText("backfill to compare");
  await expect(legend).not.toContainText("Previous period");
  // The last 7 days have their previous 7 synced: compared, dashed.
  await section.getByRole("button", { name: "Last 7 days" }).click();
  await expect(legend).toContainText("Previous period");
  await expect(section.getByTestId("gsc-total-clicks")).toContainText("vs previous period");
  await section.getByRole("button", { name: "Last 28 days" }).click();
  await expect(section.getByTestId("gsc-total-clicks").getByTestId("metric-value")).toHaveText(number(google.gsc.clicks));
  // Position on, impressions off: the toggles drive the lines.
  await section.getByTestId("gsc-total-position").click();
  await section.getByTestId("gsc-total-impressions").click();
  await expect(section.getByTestId("gsc-total-position")).toHaveAttribute("aria-pressed", "true");
  await expect(section.getByTestId("gsc-total-impressions")).toHaveAttribute("aria-pressed", "false");
  await section.getByTestId("gsc-total-ctr").click();
  await section.getByRole("img", { name: "Search performance by day" }).screenshot({ path: "test-results/screenshots/53-gsc-chart.png" });
  await section.getByTestId("gsc-total-ctr").click();
  await shoot("51-gsc-synced");

  const queries = section.getByRole("table", { name: "Top queries" });
  await expect(queries.getByTestId("gsc-queries-row").first()).toBeVisible();
  await expect(section.getByRole("table", { name: "Top pages" }).getByTestId("gsc-pages-row").first()).toBeVisible();
  await section.getByLabel("Search queries").fill(google.gsc.top_query.query);
  const row = queries.getByTestId("gsc-queries-row").filter({ hasText: google.gsc.top_query.query }).first();
  await expect(row).toContainText(number(google.gsc.top_query.clicks));

  await row.getByRole("button", { name: google.gsc.top_query.query }).click();
  const dialog = page.getByRole("dialog", { name: google.gsc.top_query.query });
  await expect(dialog.getByRole("img", { name: `Query ${google.gsc.top_query.query} by day` })).toBeVisible();
  await expect(dialog.getByTestId("gsc-total-clicks").getByTestId("metric-value")).toHaveText(number(google.gsc.top_query.clicks));
  await shoot("52-gsc-query-chart");
  await dialog.getByRole("button", { name: "Close" }).click();
  await expect(dialog).toBeHidden();
});

test("connect Google Ads, sync, read spend and the campaigns with their totals", async ({ page, platform, shoot }) => {
  const { google } = platform;
  const { ads } = google;
  await signUp(page);
  await createProject(page, "Advertised site", platform.siteUrl);

  const section = page.getByRole("region", { name: "Ads", exact: true });
  const form = section.getByRole("form", { name: "Connect Google Ads" });
  await form.getByLabel("Customer id", { exact: true }).fill(`${ads.customer_id.slice(0, 3)}-${ads.customer_id.slice(3, 6)}-${ads.customer_id.slice(6)}`);
  await form.getByLabel("Developer token").fill(ads.developer_token);
  await form.getByLabel("Credentials (JSON)").fill(JSON.stringify(google.oauth));
  await form.getByRole("button", { name: "Test connection" }).click();
  await expect(form.getByRole("status", { name: "Connection test" })).toHaveAttribute("data-ok", "true");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(section.getByTestId("connection-summary")).toContainText(ads.customer_id.slice(0, 3));

  await section.getByRole("button", { name: "Sync now" }).click();
  await expect(section.getByTestId("sync-job")).toHaveAttribute("data-status", "completed", { timeout: 60_000 });

  const totals = section.getByTestId("ads-totals");
  await expect(totals).toContainText(money(ads.cost, ads.currency));
  await expect(totals).toContainText(number(ads.clicks));
  const chart = section.getByRole("img", { name: "Spend, clicks and conversions by day" });
  await expect(chart).toBeVisible();
  await chart.screenshot({ path: "test-results/screenshots/62-ads-chart.png" });

  const campaigns = section.getByRole("table", { name: "Campaigns" });
  const campaign = campaigns.getByTestId("campaign-row").filter({ hasText: ads.campaign.name });
  await expect(campaign).toContainText(money(ads.campaign.cost, ads.currency));
  await expect(campaign).toContainText(number(ads.campaign.clicks));
  await expect(campaigns.getByTestId("campaigns-totals")).toContainText(money(ads.cost, ads.currency));
  await shoot("60-ads-synced");

  // One campaign's own chart.
  await campaign.getByRole("button", { name: ads.campaign.name }).click();
  await expect(section.getByRole("img", { name: `Spend, clicks and conversions of ${ads.campaign.name} by day` })).toBeVisible();
  await expect(totals).toContainText(money(ads.campaign.cost, ads.currency));
  await shoot("61-ads-campaign");

  // Disconnecting deletes the credentials and brings the connect form back.
  await section.getByTestId("connection-summary").getByRole("button", { name: "Disconnect" }).click();
  await page.getByRole("dialog", { name: "Disconnect Google Ads?" }).getByRole("button", { name: "Disconnect" }).click();
  await expect(section.getByRole("form", { name: "Connect Google Ads" })).toBeVisible();
});

test("connect SerpApi for a project, tested before it is saved, and check a keyword through it", async ({ page, platform, shoot }) => {
  const { serp } = platform.google;
  await signUp(page);
  await createProject(page, "Ranked site", platform.siteUrl);

  const provider = page.getByRole("region", { name: "Rank provider" });
  const form = provider.getByRole("form", { name: "Connect a rank provider" });
  await expect(form.getByLabel("Provider")).toHaveValue("serpapi");
  await form.getByLabel("API key").fill("not-the-right-key");
  await form.getByRole("button", { name: "Test connection" }).click();
  const result = form.getByRole("status", { name: "Connection test" });
  await expect(result).toHaveAttribute("data-ok", "false");
  await form.getByLabel("API key").fill(serp.api_key);
  await form.getByRole("button", { name: "Test connection" }).click();
  await expect(result).toHaveAttribute("data-ok", "true");
  await expect(result).toContainText("searches left");
  await form.getByRole("button", { name: "Save" }).click();

  // Connected: the provider and the key's fingerprint, when; never the key.
  const summary = provider.getByTestId("connection-summary");
  await expect(summary).toContainText("SerpApi");
  await expect(summary).toContainText("SerpApi key #");
  await expect(provider).not.toContainText(serp.api_key);
  await shoot("70-serp-connected");

  // A keyword checked through it: the fake ranks other sites only.
  const rankings = page.getByTestId("rankings-panel");
  await rankings.getByLabel("Keywords, one a line").fill("seo platform demo");
  await rankings.getByRole("button", { name: "Add keywords" }).click();
  const row = rankings.getByTestId("keyword-row").filter({ hasText: "seo platform demo" });
  await expect(row).toContainText("Pending");
  await rankings.getByRole("button", { name: "Refresh rankings" }).click();
  // The refresh job's progress is followed in the jobs panel; the list is read on a reload.
  await expect(page.getByText("1 not in the top 100").first()).toBeVisible({ timeout: 60_000 });
  await page.reload();
  await expect(row).toContainText("Not in top");

  await summary.getByRole("button", { name: "Disconnect" }).click();
  await page.getByRole("dialog", { name: "Disconnect SerpApi?" }).getByRole("button", { name: "Disconnect" }).click();
  await expect(provider.getByRole("form", { name: "Connect a rank provider" })).toBeVisible();
});
