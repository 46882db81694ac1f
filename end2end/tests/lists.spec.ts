import { test, expect } from "@playwright/test";
import { ingest, panel, recentFlowLines, waitForHydration } from "./helpers";

// Issue 19, "Lists that scale": object lists are paged and searched on the server, and a
// dashboard carries only its own visualizations, picking others through a server search.

const COUNT = 60;

test.describe("lists", () => {
  test.beforeAll(async ({ request }) => {
    expect((await ingest(request, recentFlowLines(5, 10))).rejected).toBe(0);
    const template = await (await request.get("/api/saved_objects/visualization/overview-action-pie")).json();
    const lines = Array.from({ length: COUNT }, (_, n) => JSON.stringify({
      id: `scale-${n}`, type: "visualization", references: template.references ?? [],
      attributes: { ...template.attributes, title: `Scale test ${String(n).padStart(3, "0")}` },
    }));
    const imported = await request.post("/api/saved_objects/_import?overwrite=true", {
      headers: { "content-type": "application/x-ndjson" },
      data: lines.join("\n") + "\n",
    });
    expect(imported.ok()).toBeTruthy();
  });

  test("/visualize pages through matches 50 at a time, searched on the server", async ({ page }) => {
    await page.goto("/visualize?search=Scale%20test");
    await waitForHydration(page);
    const pager = page.getByRole("navigation", { name: "Pages" });
    await expect(pager).toContainText(`1–50 of ${COUNT}`);
    await expect(page.locator("table.object-table tbody tr")).toHaveCount(50);
    await expect(page.locator("table.object-table tbody tr").first()).toContainText("Scale test 000");
    await pager.getByRole("link", { name: "Next" }).click();
    await expect(pager).toContainText(`51–${COUNT} of ${COUNT}`);
    await expect(page.locator("table.object-table tbody tr")).toHaveCount(COUNT - 50);
    await expect(page.locator("table.object-table tbody tr").last()).toContainText(`Scale test ${String(COUNT - 1).padStart(3, "0")}`);
    await expect(pager.getByRole("link", { name: "Next" })).toHaveCount(0);
    await pager.getByRole("link", { name: "Previous" }).click();
    await expect(pager).toContainText(`1–50 of ${COUNT}`);
  });

  test("a dashboard carries its own visualizations and finds others on the server", async ({ page }) => {
    // The overview's page holds its 15 panels' visualizations, none of the 60 others.
    const html = await (await page.request.get("/?from=now-15m&to=now")).text();
    expect(html).not.toContain("Scale test");

    await page.goto("/dashboards");
    await waitForHydration(page);
    await page.getByLabel("New dashboard title").fill("Found on the server");
    await page.getByRole("button", { name: "Create dashboard" }).click();
    await expect(page).toHaveURL(/\/dashboards\/[^/]+$/);
    await waitForHydration(page);
    await page.getByRole("button", { name: "Edit" }).click();
    await page.locator('input[name="find-visualization"]').fill("scale test 059");
    const choose = page.locator('.add-panel select[name="visualization"]');
    await expect(choose.locator("option")).toHaveText(["Choose…", "Scale test 059"]);
    await choose.selectOption({ label: "Scale test 059" });
    await page.getByRole("button", { name: "Add panel" }).click();
    await expect(panel(page, "Scale test 059").locator('canvas.chart[data-drawn="true"]')).toBeVisible();
  });
});
