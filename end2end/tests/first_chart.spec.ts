import { test, expect } from "@playwright/test";
import { ACCEPT_GREEN, REJECT_RED, canvasColours, ingest, recentFlowLines, waitForHydration } from "./helpers";

// The overview's "Flows over time by action" panel: the first chart a newcomer sees.
const CHART = 'section.grid-panel[aria-label="Flows over time by action"] canvas.chart';

test.describe("the first chart", () => {
  test.beforeAll(async ({ request }) => {
    const report = await ingest(request, recentFlowLines(50, 6));
    expect(report.rejected).toBe(0);
  });

  test("hydrates and draws accepted and rejected flows from the server", async ({ page }) => {
    await page.goto("/");
    await waitForHydration(page);
    await expect(page.locator(CHART)).toHaveAttribute("data-drawn", "true");
    const result = await canvasColours(page, CHART, { accept: ACCEPT_GREEN, reject: REJECT_RED });
    // HiDPI: the backing store is the CSS size times devicePixelRatio (2 in this config).
    expect(result.width).toBe(Math.round(result.cssWidth * 2));
    expect(result.height).toBe(Math.round(result.cssHeight * 2));
    expect(result.counts.inked).toBeGreaterThan(2000);
    expect(result.counts.accept).toBeGreaterThan(200);
    expect(result.counts.reject).toBeGreaterThan(200);
    await page.screenshot({ path: "artifacts/first-chart.png", fullPage: true });
  });

  test("redraws sharp at the new size when the window is resized", async ({ page }) => {
    await page.goto("/");
    await waitForHydration(page);
    await expect(page.locator(CHART)).toHaveAttribute("data-drawn", "true");
    const before = await canvasColours(page, CHART, {});
    await page.setViewportSize({ width: 700, height: 700 });
    await expect
      .poll(async () => {
        const now = await canvasColours(page, CHART, {});
        return now.cssWidth !== before.cssWidth && now.width === Math.round(now.cssWidth * 2);
      })
      .toBe(true);
    const after = await canvasColours(page, CHART, { accept: ACCEPT_GREEN });
    expect(after.cssWidth).toBeLessThan(700);
    expect(after.counts.accept).toBeGreaterThan(100);
  });
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the server renders the dashboard, with server-drawn charts", async ({ page }) => {
    await page.goto("/");
    await expect(page.locator("header.topbar")).toContainText("flowdash");
    await expect(page.locator("h1.title")).toHaveText("VPC flow overview");
    await expect(page.locator("section.grid-panel h2").first()).toBeVisible();
    // Until the browser draws, each chart is the server renderer's image.
    const html = await page.content();
    expect(html).toContain("/api/visualizations/overview-action-pie/render.svg");
  });
});
