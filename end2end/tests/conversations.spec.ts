import { test, expect } from "@playwright/test";
import { ingest, panel, waitForHydration } from "./helpers";

// Issue 20, item 3: the top conversations (source, destination, port, protocol) on the
// overview, and "Terms of several fields" in the editor.

const PREVIEW = "section.preview";

/** One conversation far larger than any other test's: 12 flows of 203.0.113.250 to
 * 10.77.0.7 on 8443/tcp in the last minutes, 750 GB each; and one smaller on 53/udp. */
function lines(): string {
  const now = Math.floor(Date.now() / 1000);
  const out: string[] = [];
  for (let i = 0; i < 12; i++) {
    const start = now - 300 + i * 10;
    out.push([2, "123456789012", "eni-0c0c0c0c0c0c0c0c0", "203.0.113.250", "10.77.0.7",
      50000 + i, 8443, 6, 1000, 750_000_000_000, start, start + 5, "ACCEPT", "OK"].join(" "));
    out.push([2, "123456789012", "eni-0c0c0c0c0c0c0c0c0", "203.0.113.250", "10.77.0.8",
      50000 + i, 53, 17, 2, 500_000_000_000, start, start + 5, "ACCEPT", "OK"].join(" "));
  }
  return out.join("\n") + "\n";
}

test.describe("conversations", () => {
  test.beforeAll(async ({ request }) => {
    const report = await ingest(request, lines());
    expect(report.accepted).toBe(24);
  });

  test("the overview lists the top conversations, and a cell filters by its value", async ({ page }) => {
    await page.goto("/?from=now-15m&to=now");
    await waitForHydration(page);
    const table = panel(page, "Top conversations").locator("table.data-table");
    // The columns, then one for each row's "View flows".
    await expect(table.locator("thead th")).toHaveText(["srcaddr", "dstaddr", "dstport", "protocol", "Bytes", "Packets", "Flows", "Flows"]);
    const rows = table.locator("tbody tr");
    // 12 × 750 GB = 9 TB, then 12 × 500 GB = 6 TB: the two largest conversations.
    await expect(rows.nth(0).locator("td")).toHaveText(["203.0.113.250", "10.77.0.7", /^8443\b/, "6 (tcp)", "9 TB", "12,000", "12", /./]);
    await expect(rows.nth(1).locator("td")).toHaveText(["203.0.113.250", "10.77.0.8", "53 (domain)", "17 (udp)", "6 TB", "24", "12", /./]);

    // A destination cell filters the dashboard by that destination alone.
    await rows.nth(1).getByRole("button", { name: "Filter for 10.77.0.8" }).click();
    await expect(page.locator(".filter-bar .pill-label")).toHaveText("dstaddr: 10.77.0.8");
    await expect(rows).toHaveCount(1);
    await expect(page.locator("section.grid-panel[aria-label=\"Flow records\"]")).toContainText("12");
  });

  test("the editor combines several fields in one split, and adds and removes them", async ({ page }) => {
    await page.goto("/visualize/new");
    await waitForHydration(page);
    await page.locator('select[name="kind"]').selectOption("Table");
    await page.getByRole("button", { name: "+ Add bucket" }).click();
    await page.locator("button.time-button").click();
    await page.getByRole("button", { name: "Last 1 hour" }).click();
    await page.locator('select[name="bucket0_type"]').selectOption("multi_terms");
    const table = page.locator(`${PREVIEW} table.data-table`);
    await expect(table.locator("thead th")).toHaveText(["srcaddr", "dstaddr", "Count"]);

    await page.getByRole("button", { name: "Add field" }).click();
    await expect(page.locator('select[name="bucket0_field2"]')).toHaveValue("dstport");
    await expect(table.locator("thead th")).toHaveText(["srcaddr", "dstaddr", "dstport", "Count"]);
    await page.locator('select[name="bucket0_field1"]').selectOption("protocol");
    await expect(table.locator("thead th")).toHaveText(["srcaddr", "protocol", "dstport", "Count"]);
    // Our 53/udp conversation is one row of the table: source, 17 (udp), 53 (domain).
    await expect(table.locator("tbody tr", { hasText: "17 (udp)" }).filter({ hasText: "203.0.113.250" })).toHaveCount(1);

    await page.getByRole("button", { name: "Remove Field 1" }).click();
    await expect(table.locator("thead th")).toHaveText(["srcaddr", "dstport", "Count"]);
    // Two fields are the fewest: neither can be removed now.
    await expect(page.getByRole("button", { name: "Remove Field 1" })).toBeDisabled();
  });
});
