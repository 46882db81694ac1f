import { test, expect } from "@playwright/test";
import { ingest, newTableOverLastHour, recentFlowLines, waitForHydration } from "./helpers";

// Issue 20, item 2: networks named on their page, and visualizations split by source or
// destination network and by traffic direction.

const PREVIEW = "section.preview";
const RANGES = "10.0.0.0/16 = e2e-vpc\n198.51.100.0/24 = e2e-partner (external)\n0.0.0.0/0 = internet";

test.describe("networks", () => {
  test.beforeAll(async ({ request }) => {
    // Flows from 198.51.100.x to 10.0.1.10.
    const report = await ingest(request, recentFlowLines(5, 6));
    expect(report.rejected).toBe(0);
  });

  test("named on their page, checked as typed, and splitting a table by network and direction", async ({ page }) => {
    await page.goto("/management/networks");
    await waitForHydration(page);
    const ranges = page.locator('textarea[name="networks"]');
    const status = page.locator(".networks-form .hint");
    const save = page.getByRole("button", { name: "Save" });

    // A line that does not read is named, and nothing can be saved.
    await ranges.fill("10.0.0.0/16 = e2e-vpc\nnonsense");
    await expect(status).toContainText("line 2");
    await expect(save).toBeDisabled();

    await ranges.fill(RANGES);
    await expect(status).toHaveText("3 ranges");
    const lookup = page.locator('input[name="lookup"]');
    await lookup.fill("10.0.1.10");
    await expect(page.locator("p.lookup")).toHaveText("10.0.1.10: e2e-vpc, yours");
    await lookup.fill("198.51.100.7");
    await expect(page.locator("p.lookup")).toHaveText("198.51.100.7: e2e-partner, not yours");
    await save.click();
    await expect(page.getByRole("status")).toHaveText("Saved");
    // Kept: the page reads them back.
    await page.reload();
    await waitForHydration(page);
    await expect(ranges).toHaveValue(RANGES);

    await newTableOverLastHour(page);
    const table = page.locator(`${PREVIEW} table.data-table`);
    await page.locator('select[name="bucket0_type"]').selectOption("network");
    await page.locator('select[name="bucket0_field"]').selectOption("srcaddr");
    await expect(table.locator("thead th").first()).toHaveText("srcaddr network");
    await expect(table.locator("tbody tr", { hasText: "e2e-partner" })).toHaveCount(1);
    await page.locator('select[name="bucket0_field"]').selectOption("dstaddr");
    await expect(table.locator("tbody tr", { hasText: "e2e-vpc" })).toHaveCount(1);

    // From the partner (not ours) into the VPC (ours): inbound.
    await page.locator('select[name="bucket0_type"]').selectOption("direction");
    await expect(table.locator("thead th").first()).toHaveText("Direction");
    await expect(table.locator("tbody tr", { hasText: "inbound" })).toHaveCount(1);
  });
});
