import { createProject, expect, logIn, signUp, test, uniqueEmail } from "./fixtures";

test("sign up, log out, log in, and manage projects", async ({ page, platform, shoot }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await shoot("01-login");
  await page.getByRole("link", { name: "Sign up" }).click();
  await shoot("02-signup");

  const email = await signUp(page, uniqueEmail("owner"));
  await expect(page.getByText("No projects yet")).toBeVisible();
  await shoot("03-projects-empty");

  await page.getByRole("button", { name: "Log out" }).first().click();
  await expect(page).toHaveURL(/\/login$/);
  await logIn(page, email, "a-long-password-1");

  await page.getByRole("button", { name: "New project" }).first().click();
  await shoot("04-project-create-dialog");
  await page.keyboard.press("Escape");

  await createProject(page, "Loopback site", platform.siteUrl);
  await shoot("05-project");

  // Small screens: the sidebar folds into a menu.
  await page.setViewportSize({ width: 390, height: 844 });
  await expect(page.getByRole("navigation", { name: "Main" })).toBeHidden();
  await page.getByRole("button", { name: "Menu" }).click();
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
  await shoot("07-mobile-project-menu");
  await page.getByRole("button", { name: "Menu" }).click();
  await page.setViewportSize({ width: 1360, height: 900 });

  await page.getByRole("button", { name: "Edit" }).click();
  const edit = page.getByRole("dialog", { name: "Edit project" });
  await edit.getByLabel("Name").fill("Loopback site (renamed)");
  await edit.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("heading", { name: "Loopback site (renamed)" })).toBeVisible();

  await page.getByRole("link", { name: "Projects" }).first().click();
  await expect(page.getByRole("list", { name: "Projects" }).getByText("Loopback site (renamed)")).toBeVisible();
  await shoot("06-projects-list");

  await page.getByRole("list", { name: "Projects" }).getByText("Loopback site (renamed)").click();
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("dialog", { name: "Delete this project?" }).getByRole("button", { name: "Delete project" }).click();
  await expect(page.getByText("No projects yet")).toBeVisible();
});

test("a wrong password is refused with a readable message", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("Email").fill("nobody@e2e.example.com");
  await page.getByLabel("Password").fill("wrong-password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByText("Incorrect email or password")).toBeVisible();
});
