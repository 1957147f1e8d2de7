import { test as base, expect, type Page } from "@playwright/test";
import fs from "node:fs";
import path from "node:path";
import type { FakeGoogleInfo } from "./fake-google";

const SHOTS = path.resolve(import.meta.dirname, "../test-results/screenshots");

export type Platform = {
  siteUrl: string;
  slowSiteUrl: string;
  flowerUrl: string;
  admin: { email: string; password: string };
  /** The fake Google's credentials and the figures a first sync of its demo data shows. */
  google: FakeGoogleInfo;
};

export const test = base.extend<{ platform: Platform; shoot: (name: string) => Promise<void> }>({
  // The platform's address is only known once globalSetup started it.
  baseURL: async ({}, use) => {
    await use(process.env.E2E_BASE_URL);
  },
  platform: async ({}, use) => {
    await use({
      siteUrl: process.env.E2E_SITE_URL!,
      slowSiteUrl: process.env.E2E_SLOW_SITE_URL!,
      flowerUrl: process.env.E2E_FLOWER_URL!,
      admin: { email: process.env.E2E_ADMIN_EMAIL!, password: process.env.E2E_ADMIN_PASSWORD! },
      google: JSON.parse(process.env.E2E_GOOGLE ?? "null") as FakeGoogleInfo,
    });
  },
  shoot: async ({ page }, use) => {
    fs.mkdirSync(SHOTS, { recursive: true });
    await use(async (name: string) => {
      await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
    });
  },
});

export { expect };

let counter = 0;
export function uniqueEmail(prefix = "user"): string {
  counter += 1;
  return `${prefix}-${Date.now()}-${counter}@e2e.example.com`;
}

export async function signUp(page: Page, email = uniqueEmail()): Promise<string> {
  await page.goto("/signup");
  await page.getByLabel("Full name").fill("Dana Tester");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a-long-password-1");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByRole("heading", { name: "Projects" })).toBeVisible();
  return email;
}

export async function logIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Projects" })).toBeVisible();
}

export async function createProject(page: Page, name: string, siteUrl: string): Promise<string> {
  await page.goto("/");
  await page.getByRole("button", { name: "New project" }).first().click();
  const dialog = page.getByRole("dialog", { name: "New project" });
  await dialog.getByLabel("Name").fill(name);
  await dialog.getByLabel("Site URL").fill(siteUrl);
  await dialog.getByRole("button", { name: "Create project" }).click();
  await expect(page.getByRole("heading", { name })).toBeVisible();
  return page.url().split("/projects/")[1]!;
}
