import { test, expect, type Page } from "@playwright/test";
import { ingest, newTableOverLastHour, recentFlowLines } from "./helpers";

// Issue 21, build 4: the editor offers Kibana's IP range, date range and significant terms
// buckets, and a data table draws them; issue 20: and subnets (IP prefix).

const PREVIEW = "section.preview";

/** A new data table with a row per action, over the last hour. */
async function newActionTableOverLastHour(page: Page) {
  await newTableOverLastHour(page);
  await page.locator('select[name="bucket0_field"]').selectOption("action");
}

test.describe("editor buckets", () => {
  test.beforeAll(async ({ request }) => {
    const report = await ingest(request, recentFlowLines(20, 6));
    expect(report.rejected).toBe(0);
  });

  test("address ranges, date ranges and significant terms as table rows", async ({ page }) => {
    await newTableOverLastHour(page);
    const type = page.locator('select[name="bucket0_type"]');
    const table = page.locator(`${PREVIEW} table.data-table`);

    // Private blocks by default; the flows' destination, 10.0.1.10, is in the first.
    await type.selectOption("ip_range");
    await page.locator('select[name="bucket0_field"]').selectOption("dstaddr");
    await expect(table).toContainText("10.0.0.0/8");
    await expect(table).toContainText("192.168.0.0/16");
    // Ranges typed by hand: a block, and a from-to pair.
    const ranges = page.locator('input[name="bucket0_ranges"]');
    await ranges.fill("10.0.1.0/24, 198.51.100.0-198.51.100.255");
    await ranges.press("Tab");
    await page.locator('select[name="bucket0_field"]').selectOption("srcaddr");
    await expect(table).toContainText("198.51.100.0-198.51.100.255");
    await expect(table).toContainText("10.0.1.0/24");

    // Subnets: the busiest /24 networks of the destinations, then /16 ones.
    await type.selectOption("ip_prefix");
    await page.locator('select[name="bucket0_field"]').selectOption("dstaddr");
    await expect(table.locator("tbody tr").first()).toContainText("10.0.1.0/24");
    const prefix = page.locator('input[name="bucket0_prefix_length"]');
    await prefix.fill("16");
    await prefix.press("Tab");
    await expect(table.locator("tbody tr").first()).toContainText("10.0.0.0/16");
    // A length no IPv4 network has is named, not drawn.
    await prefix.fill("33");
    await prefix.press("Tab");
    await expect(page.locator('p.error[role="alert"]')).toContainText("prefix_length: must be at most 32");

    // Yesterday and today, in date math.
    await type.selectOption("date_range");
    await expect(page.locator('input[name="bucket0_ranges"]')).toHaveValue("now-1d/d..now/d, now/d..");
    await expect(table.locator("tbody tr")).toHaveCount(2);

    // Significant terms: a size, and rows keyed by the field's values (or none stand out).
    await type.selectOption("significant_terms");
    await expect(page.locator('input[name="bucket0_size"]')).toHaveValue("5");
    await expect(page.locator('select[name="bucket0_field"]')).toHaveValue("dstport");
  });

  // Kibana's sibling pipeline metrics: a statistic of a metric over an inner split.
  test("a statistic over buckets: its metric, its split and its label", async ({ page }) => {
    await newActionTableOverLastHour(page);
    const table = page.locator(`${PREVIEW} table.data-table`);
    const header = table.locator("thead th").nth(1);

    // The busiest port's flows, per action: the number is a port's count, at least 1.
    await page.locator('select[name="metric"]').selectOption("max_bucket");
    await expect(page.locator('select[name="per"]')).toHaveValue("time");
    await page.locator('select[name="per"]').selectOption("terms");
    await page.getByLabel("Per field").selectOption("dstport");
    await expect(header).toContainText("Max of Count per dstport");
    await expect(table.locator("tbody tr")).toHaveCount(2);
    for (const cell of await table.locator("tbody tr td:nth-child(2)").all()) {
      await expect(cell).toHaveText(/^[1-9][\d,]*$/);
    }

    // Another metric inside, and time buckets instead of ports.
    await page.locator('select[name="bucket_metric"]').selectOption("sum");
    await page.getByLabel("Of field").selectOption("bytes");
    await expect(header).toContainText("Max of Sum of bytes per dstport");
    await page.locator('select[name="per"]').selectOption("time");
    await page.locator('select[name="per_interval"]').selectOption("5m");
    await expect(header).toContainText("Max of Sum of bytes per 5m");
    await expect(table.locator("tbody tr")).toHaveCount(2);

    // Back to a plain metric: the inner one stays.
    await page.locator('select[name="metric"]').selectOption("avg");
    await expect(header).toContainText("Average bytes");
  });

  // Kibana's top hit: a field's value in the latest flows, listed or combined.
  test("a top hit: the latest source per action, several listed, several added up", async ({ page }) => {
    await newActionTableOverLastHour(page);
    const table = page.locator(`${PREVIEW} table.data-table`);
    const header = table.locator("thead th").nth(1);
    const cells = table.locator("tbody tr td:nth-child(2)");

    await page.locator('select[name="metric"]').selectOption("top_hit");
    await expect(page.locator('select[name="top_hit_sort"]')).toHaveValue("@timestamp");
    await page.locator('select[name="metric_field"]').selectOption("srcaddr");
    await expect(header).toHaveText("Last srcaddr");
    await expect(table.locator("tbody tr")).toHaveCount(2);
    for (const cell of await cells.all()) {
      await expect(cell).toHaveText(/^\d+\.\d+\.\d+\.\d+$/);
    }
    // Addresses are listed, never added up.
    const combine = page.locator('select[name="top_hit_combine"]');
    await expect(combine.locator("option")).toHaveText(["Concatenate"]);
    await page.locator('input[name="top_hit_size"]').fill("2");
    await page.locator('input[name="top_hit_size"]').press("Tab");
    await expect(header).toHaveText("Last 2 srcaddr");
    for (const cell of await cells.all()) {
      await expect(cell).toHaveText(/^\d+\.\d+\.\d+\.\d+, \d+\.\d+\.\d+\.\d+$/);
    }

    // Bytes add up: the two largest flows' total per action, in the field's format.
    await page.locator('select[name="metric_field"]').selectOption("bytes");
    await page.locator('select[name="top_hit_sort"]').selectOption("bytes");
    await combine.selectOption("sum");
    await expect(header).toHaveText("Last 2 bytes");
    for (const cell of await cells.all()) {
      await expect(cell).toHaveText(/^[\d.,]+ (B|kB|MB|GB)$/);
    }

    // Text has no place on a pie: made a pie, the addresses become the largest flow's bytes,
    // and the terms rank by count.
    await combine.selectOption("concat");
    await page.locator('select[name="metric_field"]').selectOption("srcaddr");
    await expect(header).toHaveText("Last 2 srcaddr");
    await page.locator('select[name="kind"]').selectOption("Pie");
    await expect(page.locator('select[name="metric_field"]')).toHaveValue("bytes");
    await expect(combine).toHaveValue("max");
    await expect(combine.locator("option")).toHaveText(["Sum", "Average", "Min", "Max"]);
    await expect(page.getByRole("combobox", { name: "Order", exact: true })).toContainText("Largest first by count");
    await expect(page.locator(`${PREVIEW} canvas.chart`)).toHaveAttribute("data-drawn", "true");
    await expect(page.locator('p.error[role="alert"]')).toHaveCount(0);
  });
});
