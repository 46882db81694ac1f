import { test, expect } from "@playwright/test";
import { waitForHydration } from "./helpers";

// The server started with `--auth users` (see playwright.config.ts): a viewer and an editor.
const base = `http://127.0.0.1:${process.env.FLOWDASH_E2E_AUTH_PORT ?? 3108}`;

async function logIn(page: import("@playwright/test").Page, user: string) {
  await page.goto(`${base}/dashboards/vpc-flow-overview`);
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByLabel("User").fill(user);
  await page.getByLabel("Password").fill(`${user}-password`);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(`${base}/dashboards/vpc-flow-overview`);
  await waitForHydration(page);
}

test("a viewer logs in, reads the overview without edit controls, and logs out", async ({ page }) => {
  await page.goto(`${base}/login`);
  await page.getByLabel("User").fill("vera");
  await page.getByLabel("Password").fill("wrong-password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toContainText("wrong password");

  await logIn(page, "vera");
  await expect(page.locator(".topbar .account")).toContainText("vera · viewer");
  await expect(page.getByRole("button", { name: "Share" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Edit", exact: true })).toHaveCount(0);
  await page.goto(`${base}/visualize`);
  await waitForHydration(page);
  await expect(page.getByRole("button", { name: "Delete" })).toHaveCount(0);
  await expect(page.locator("details.import")).toHaveCount(0);

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login/);
  const response = await page.request.get(`${base}/api/saved_objects/_find?type=dashboard`);
  expect(response.status()).toBe(401);
});

test("an editor sees the edit controls", async ({ page }) => {
  await logIn(page, "eddie");
  await expect(page.locator(".topbar .account")).toContainText("eddie · editor");
  await expect(page.getByRole("button", { name: "Edit", exact: true })).toBeVisible();
});
