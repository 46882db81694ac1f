import { test, expect } from "@playwright/test";
import { waitForHydration } from "./helpers";

// Issue 19, "Time picker": Kibana's quick ranges, recently used ranges on every page, and a
// calendar for absolute times.

test("quick ranges, recently used ranges on every page, and a calendar", async ({ page }) => {
  await page.goto("/?from=now-15m&to=now");
  await waitForHydration(page);
  const button = page.locator(".time-button");
  await button.click();
  const common = page.getByRole("group", { name: "Commonly used" });
  await expect(common.getByRole("button")).toHaveText([
    "Today", "This week", "Last 15 minutes", "Last 30 minutes", "Last 1 hour", "Last 24 hours",
    "Last 7 days", "Last 30 days", "Last 90 days", "Last 1 year", "Yesterday", "This month", "This year",
  ]);
  await common.getByRole("button", { name: "Last 90 days" }).click();
  await expect(button).toContainText("Last 90 days");
  await expect(page).toHaveURL(/from=now-90d/);

  // Remembered in this browser, and offered on Discover too.
  await page.goto("/discover");
  await waitForHydration(page);
  await button.click();
  const recent = page.getByRole("group", { name: "Recently used" });
  await expect(recent.getByRole("button")).toHaveText(["Last 90 days"]);

  // An absolute range from the calendar inputs, in the viewer's zone.
  await page.locator('input[name="from-calendar"]').fill("2026-12-01T08:00");
  await expect(page.locator('input[name="from"]')).toHaveValue("2026-12-01T08:00");
  await page.locator('input[name="to"]').fill("2026-12-01T09:30");
  await expect(page.locator('input[name="to-calendar"]')).toHaveValue("2026-12-01T09:30");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(button).toContainText("Dec 1, 2026 @ 08:00:00 → 09:30:00");
  await button.click();
  await expect(recent.getByRole("button")).toHaveText(["Dec 1, 2026 @ 08:00:00 → 09:30:00", "Last 90 days"]);
  // A recently used range is one click away.
  await recent.getByRole("button", { name: "Last 90 days" }).click();
  await expect(button).toContainText("Last 90 days");
});

test.describe("a named time zone", () => {
  // The browser runs in Tokyo (+09:00, no daylight saving time), the user picks other zones.
  test.use({ timezoneId: "Asia/Tokyo" });

  test("labels, buckets and typed dates follow the zone chosen, on every page", async ({ page }) => {
    await page.goto("/?from=2026-12-01T00:00:00.000Z&to=2026-12-01T06:00:00.000Z");
    await waitForHydration(page);
    const button = page.locator(".time-button");
    await expect(button).toHaveText(/Dec 1, 2026 @ 09:00:00 → 15:00:00/);

    await button.click();
    const searched = page.waitForRequest((r) => r.url().includes("/api/msearch") && (r.postData() ?? "").includes('"time_zone":"Europe/Berlin"'));
    await page.getByLabel("Time zone").selectOption("Europe/Berlin");
    // The page loads again in Berlin time (+01:00 in December), and asks for Berlin's buckets.
    await searched;
    await waitForHydration(page);
    await expect(button).toHaveText(/Dec 1, 2026 @ 01:00:00 → 07:00:00/);

    // Another page keeps the choice.
    await page.goto("/discover?from=2026-12-01T00:00:00.000Z&to=2026-12-01T06:00:00.000Z");
    await waitForHydration(page);
    await expect(button).toHaveText(/Dec 1, 2026 @ 01:00:00 → 07:00:00/);
    await button.click();
    await expect(page.getByLabel("Time zone")).toHaveValue("Europe/Berlin");
    await page.getByLabel("Time zone").selectOption("UTC");
    await waitForHydration(page);
    await expect(button).toHaveText(/Dec 1, 2026 @ 00:00:00 → 06:00:00/);

    // The browser's own again.
    await button.click();
    await page.getByLabel("Time zone").selectOption("");
    await waitForHydration(page);
    await expect(button).toHaveText(/Dec 1, 2026 @ 09:00:00 → 15:00:00/);
  });
});
