import { test, expect } from "@playwright/test";
import { ingest, legend, recentFlowLines, waitForHydration } from "./helpers";

// Issue 19, build 5: several metrics in one chart, each with its own name, a rate per second,
// and a second value axis for a metric of another scale; the axes' titles.

const PREVIEW = "section.preview";

test.describe("several metrics", () => {
  test.beforeAll(async ({ request }) => {
    const report = await ingest(request, recentFlowLines(30, 4));
    expect(report.rejected).toBe(0);
  });

  test("flows on the left, bytes per second on the right, saved and drawn by the server", async ({ page, request }) => {
    await page.goto("/visualize/new");
    await waitForHydration(page);
    await page.locator('input[name="title"]').fill("Flows and bytes per second");
    await page.locator('select[name="kind"]').selectOption("Line");
    await page.locator('select[name="bucket0_interval"]').selectOption("1m");
    await page.locator("button.time-button").click();
    await page.getByRole("button", { name: "Last 1 hour" }).click();
    const canvas = page.locator(`${PREVIEW} canvas.chart`);
    await expect(canvas).toHaveAttribute("data-drawn", "true");
    await expect.poll(() => legend(page.locator(PREVIEW))).toEqual(["Count"]);

    // A second metric starts as the bytes, on the right axis of a line chart.
    await page.getByRole("button", { name: "+ Add metric" }).click();
    const second = page.getByRole("group", { name: "Metric 2" });
    await expect(second.locator('select[name="metric"]')).toHaveValue("sum");
    await expect(second.locator('select[name="metric_axis"]')).toHaveValue("right");
    await expect.poll(() => legend(page.locator(PREVIEW))).toEqual(["Count", "Sum of bytes"]);
    await second.locator('select[name="rate"]').selectOption("second");
    await expect.poll(() => legend(page.locator(PREVIEW))).toEqual(["Count", "Sum of bytes per second"]);
    // The label's placeholder is the name it would have; a custom one replaces it.
    const label = second.locator('input[name="metric_label"]');
    await expect(label).toHaveAttribute("placeholder", "Sum of bytes per second");
    await label.fill("Bytes/s");
    await label.press("Tab");
    await expect.poll(() => legend(page.locator(PREVIEW))).toEqual(["Count", "Bytes/s"]);
    // An average has no rate: the choice is not offered for it.
    await second.locator('select[name="metric"]').selectOption("avg");
    await expect(second.locator('select[name="rate"]')).toHaveCount(0);
    await second.locator('select[name="metric"]').selectOption("sum");
    await second.locator('select[name="rate"]').selectOption("second");

    const leftTitle = page.locator('input[name="axis_title_left"]');
    await leftTitle.fill("Flows");
    await leftTitle.press("Tab");
    await page.locator('input[name="axis_title_right"]').fill("Bytes per second");
    await page.locator('input[name="axis_title_right"]').press("Tab");

    // The tooltip holds both metrics of the bucket pointed at.
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
    const tooltip = page.locator(`${PREVIEW} .tooltip`);
    await expect(tooltip).toContainText("Count");
    await expect(tooltip).toContainText("Bytes/s");
    // Bytes read in units, per second for the rate (field formats: bytes by default).
    await expect(tooltip).toContainText(/\d B\/s|kB\/s|MB\/s/);

    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.locator("p.message")).toContainText("Saved");
    await expect(page).toHaveURL(/\/visualize\/(?!new$)[^/]+$/);
    const id = page.url().split("/").pop()!;
    await page.reload();
    await waitForHydration(page);
    await expect.poll(() => legend(page.locator(PREVIEW))).toEqual(["Count", "Bytes/s"]);
    const reloaded = page.getByRole("group", { name: "Metric 2" });
    await expect(reloaded.locator('select[name="rate"]')).toHaveValue("second");
    await expect(reloaded.locator('select[name="metric_axis"]')).toHaveValue("right");
    await expect(reloaded.locator('input[name="metric_label"]')).toHaveValue("Bytes/s");
    await expect(page.locator('input[name="axis_title_left"]')).toHaveValue("Flows");

    // The server draws the same chart: both axes titled.
    const svg = await (await request.get(`/api/visualizations/${id}/render.svg?from=now-1h&to=now`)).text();
    expect(svg).toContain("Flows");
    expect(svg).toContain("Bytes per second");

    // Removed, the chart is back to one metric and one axis.
    await page.getByRole("button", { name: "Remove metric 2" }).click();
    await expect.poll(() => legend(page.locator(PREVIEW))).toEqual(["Count"]);
    await expect(page.locator('input[name="axis_title_right"]')).toHaveCount(0);
    await expect(page.getByRole("group", { name: "Metric 2" })).toHaveCount(0);
  });
});
