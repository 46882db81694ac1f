import { test, expect } from "@playwright/test";
import { ingest, newTableOverLastHour, panel, waitForHydration } from "./helpers";

// Issue 20, item 3: the top conversations (source, destination, port, protocol) on a
// dashboard, and "Terms of several fields" in the editor.

const PREVIEW = "section.preview";

/** This run's own addresses: a retried test ingests again, under new ones. */
const SOURCE = `203.0.113.${1 + Math.floor(Math.random() * 250)}`;
const NET = `10.77.${Math.floor(Math.random() * 250)}`;

/** Two conversations larger than any other test's: 12 flows from SOURCE to NET.7 on
 * 8443/tcp in the last minutes, 5 GB each, and 12 to NET.8 on 53/udp, 4 GB each (under a
 * terabyte in all: other tests read the largest sums in GB). */
function lines(): string {
  const now = Math.floor(Date.now() / 1000);
  const out: string[] = [];
  for (let i = 0; i < 12; i++) {
    const start = now - 300 + i * 10;
    out.push([2, "123456789012", "eni-0c0c0c0c0c0c0c0c0", SOURCE, `${NET}.7`,
      50000 + i, 8443, 6, 1000, 5_000_000_000, start, start + 5, "ACCEPT", "OK"].join(" "));
    out.push([2, "123456789012", "eni-0c0c0c0c0c0c0c0c0", SOURCE, `${NET}.8`,
      50000 + i, 53, 17, 2, 4_000_000_000, start, start + 5, "ACCEPT", "OK"].join(" "));
  }
  return out.join("\n") + "\n";
}

test.describe("conversations", () => {
  test.beforeAll(async ({ request }) => {
    const report = await ingest(request, lines());
    expect(report.accepted).toBe(24);
  });

  test("a dashboard lists the top conversations, and a cell filters by its value", async ({ page, request }) => {
    // The installed visualization, on a dashboard of its own.
    const created = await request.post("/api/saved_objects/dashboard/e2e-conversations?overwrite=true", {
      data: { attributes: { version: 1, title: "Conversations",
        panels: [{ id: "1", grid: { x: 0, y: 0, w: 48, h: 16 }, visualization_id: "overview-conversations" }] } },
    });
    expect(created.ok(), await created.text()).toBeTruthy();
    await page.goto("/dashboards/e2e-conversations?from=now-15m&to=now");
    await waitForHydration(page);
    const table = panel(page, "Top conversations").locator("table.data-table");
    // The columns, then one for each row's "View flows".
    await expect(table.locator("thead th")).toHaveText(["srcaddr", "dstaddr", "dstport", "protocol", "Bytes", "Packets", "Flows", "Flows"]);
    const rows = table.locator("tbody tr");
    const web = rows.filter({ hasText: `${NET}.7` });
    const dns = rows.filter({ hasText: `${NET}.8` });
    // 12 × 5 GB = 60 GB, and 12 × 4 GB = 48 GB: each one row with its sums, the larger first.
    await expect(web.locator("td")).toHaveText([SOURCE, `${NET}.7`, /^8443\b/, "6 (tcp)", "60 GB", "12,000", "12", /./]);
    await expect(dns.locator("td")).toHaveText([SOURCE, `${NET}.8`, "53 (dns)", "17 (udp)", "48 GB", "24", "12", /./]);
    const destinations = await rows.locator("td:nth-child(2)").allTextContents();
    expect(destinations.indexOf(`${NET}.7`)).toBeLessThan(destinations.indexOf(`${NET}.8`));

    // A destination cell filters the dashboard by that destination alone.
    await dns.getByRole("button", { name: `Filter for ${NET}.8` }).click();
    await expect(page.locator(".filter-bar .pill-label")).toHaveText(`dstaddr: ${NET}.8`);
    await expect(rows).toHaveCount(1);
    await expect(rows.first().locator("td").nth(2)).toHaveText("53 (dns)");
  });

  test("the editor combines several fields in one split, and adds and removes them", async ({ page }) => {
    await newTableOverLastHour(page);
    await page.locator('select[name="bucket0_type"]').selectOption("multi_terms");
    const table = page.locator(`${PREVIEW} table.data-table`);
    // The terms bucket's field comes first, then the destination.
    await expect(table.locator("thead th")).toHaveText(["dstport", "dstaddr", "Count"]);

    // Added: the first usual field not chosen yet, the source.
    await page.getByRole("button", { name: "Add field" }).click();
    await expect(page.locator('select[name="bucket0_field2"]')).toHaveValue("srcaddr");
    await expect(table.locator("thead th")).toHaveText(["dstport", "dstaddr", "srcaddr", "Count"]);
    await page.locator('select[name="bucket0_field1"]').selectOption("protocol");
    await expect(table.locator("thead th")).toHaveText(["dstport", "protocol", "srcaddr", "Count"]);
    // Our 53/udp conversation is one row of the table: 53 (dns), 17 (udp), its source (among
    // the 500 largest by count: other tests' flows are more).
    const size = page.locator('input[name="bucket0_size"]');
    await size.fill("500");
    await size.press("Tab");
    await expect(table.locator("tbody tr", { hasText: "17 (udp)" }).filter({ hasText: SOURCE })).toHaveCount(1);

    await page.getByRole("button", { name: "Remove Field 1" }).click();
    await expect(table.locator("thead th")).toHaveText(["protocol", "srcaddr", "Count"]);
    // Two fields are the fewest: neither can be removed now.
    await expect(page.getByRole("button", { name: "Remove Field 1" })).toBeDisabled();
  });
});
