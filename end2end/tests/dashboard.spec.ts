import { test, expect, Page } from "@playwright/test";
import * as fs from "node:fs";
import {
  ACCEPT_GREEN, REJECT_RED, allDrawn, canvasColours, clickColour, ingest, legend, panel, recentFlowLines, waitForHydration,
} from "./helpers";

// Issue 6: the overview and dashboards built, shared, saved and moved between servers.


test.describe("dashboards", () => {
  test.beforeAll(async ({ request }) => {
    const report = await ingest(request, recentFlowLines(45, 8));
    expect(report.rejected).toBe(0);
  });

  test("the overview: time range, click REJECT to filter every panel, share the URL, full screen", async ({ page, browser }) => {
    const requests: string[] = [];
    page.on("request", (r) => requests.push(new URL(r.url()).pathname));
    await page.goto("/");
    await waitForHydration(page);
    await expect(page.locator("h1.title")).toHaveText("VPC flow overview");
    await allDrawn(page);
    await expect(page.locator("section.grid-panel")).toHaveCount(15);
    // One batched search for all fourteen panels (plus the "Other" follow-ups at most).
    expect(requests.filter((p) => p === "/api/msearch").length).toBeLessThanOrEqual(2);
    expect(requests.filter((p) => p === "/api/search").length).toBe(0);

    // The time range: last hour, in the URL too.
    await page.locator("button.time-button").click();
    await page.getByRole("button", { name: "Last 1 hour" }).click();
    await expect(page).toHaveURL(/from=now-1h/);
    await expect(page.locator("button.time-button")).toContainText("Last 1 hour");
    await allDrawn(page);

    // Click the REJECT slice of "Accepted vs rejected": the filter applies to every panel.
    const pie = panel(page, "Accepted vs rejected");
    await expect.poll(() => legend(pie)).toEqual(["ACCEPT", "REJECT"]);
    await clickColour(page, pie.locator("canvas.chart"), REJECT_RED);
    await expect(page.locator(".filter-bar .pill")).toHaveCount(1);
    await expect(page.locator(".filter-bar .pill-label")).toHaveText("action: REJECT");
    await expect(page).toHaveURL(/filters=/);
    await allDrawn(page);
    await expect.poll(() => legend(pie)).toEqual(["REJECT"]);
    await expect.poll(() => legend(panel(page, "Flows over time by action"))).toEqual(["REJECT"]);
    const rejected = await page.locator('section.grid-panel[aria-label="Rejected flows"] ul.chart-legend').count();
    expect(rejected).toBe(1);
    const line = await canvasColours(page, 'section.grid-panel[aria-label="Flows over time by action"] canvas.chart', { accept: ACCEPT_GREEN, reject: REJECT_RED });
    expect(line.counts.accept).toBeLessThan(50);
    expect(line.counts.reject).toBeGreaterThan(200);
    await page.screenshot({ path: "artifacts/overview-rejected.png", fullPage: true });

    // The address bar reproduces the view in a fresh page.
    const shared = page.url();
    const fresh = await (await browser.newContext({ deviceScaleFactor: 2 })).newPage();
    await fresh.goto(shared);
    await waitForHydration(fresh);
    await expect(fresh.locator(".filter-bar .pill-label")).toHaveText("action: REJECT");
    await expect(fresh.locator("button.time-button")).toContainText("Last 1 hour");
    await allDrawn(fresh);
    await expect.poll(() => legend(panel(fresh, "Accepted vs rejected"))).toEqual(["REJECT"]);
    await fresh.close();

    // Back undoes the filter.
    await page.goBack();
    await expect(page.locator(".filter-bar .pill")).toHaveCount(0);

    // The keyboard does the same: arrows walk the slices, Enter filters by the one shown.
    // First the unfiltered pie must be back: a redraw arriving after the first arrow key
    // would start the walk again.
    await expect.poll(() => legend(pie)).toEqual(["ACCEPT", "REJECT"]);
    await allDrawn(page);
    await pie.locator("canvas.chart").focus();
    await page.keyboard.press("ArrowRight");
    await expect(pie.locator(".tooltip-title")).toHaveText("ACCEPT");
    await page.keyboard.press("ArrowRight");
    await expect(pie.locator(".tooltip-title")).toHaveText("REJECT");
    await page.keyboard.press("Enter");
    await expect(page.locator(".filter-bar .pill-label")).toHaveText("action: REJECT");
    await page.goBack();
    await expect(page.locator(".filter-bar .pill")).toHaveCount(0);

    // One panel full screen, in the URL; exit brings the grid back.
    await panel(page, "Bytes over time by direction").getByRole("button", { name: "Full screen" }).click();
    await expect(page).toHaveURL(/full=/);
    await expect(page.locator("section.grid-panel")).toHaveCount(1);
    const full = await panel(page, "Bytes over time by direction").boundingBox();
    expect(full!.width).toBeGreaterThan(1100);
    await page.getByRole("button", { name: "Exit full screen" }).click();
    await expect(page.locator("section.grid-panel")).toHaveCount(15);
  });

  test("a new dashboard from two visualizations: move, resize, save, reload, export, delete, import", async ({ page }) => {
    await page.goto("/dashboards");
    await waitForHydration(page);
    await page.getByLabel("New dashboard title").fill("Two charts");
    await page.getByRole("button", { name: "Create dashboard" }).click();
    await expect(page).toHaveURL(/\/dashboards\/[^/]+$/);
    const id = new URL(page.url()).pathname.split("/").pop()!;
    await waitForHydration(page);
    await expect(page.locator("h1.title")).toHaveText("Two charts");

    await page.getByRole("button", { name: "Edit" }).click();
    const choose = page.locator('.add-panel select[name="visualization"]');
    await choose.selectOption({ label: "Accepted vs rejected" });
    await page.getByRole("button", { name: "Add panel" }).click();
    await choose.selectOption({ label: "Flows over time by action" });
    await page.getByRole("button", { name: "Add panel" }).click();
    await expect(page.locator("section.grid-panel")).toHaveCount(2);
    await allDrawn(page);

    // Drag the pie's header sideways (down into empty rows it would float back up, as in
    // Kibana); resize the line with its handle. Layout changes fetch nothing.
    const searches: string[] = [];
    page.on("request", (r) => { if (new URL(r.url()).pathname === "/api/msearch") searches.push(r.url()); });
    const pie = panel(page, "Accepted vs rejected");
    const line = panel(page, "Flows over time by action");
    const styleBefore = await pie.getAttribute("style");
    const header = (await pie.locator("header.panel-header h2").boundingBox())!;
    await page.mouse.move(header.x + 10, header.y + 5);
    await page.mouse.down();
    await page.mouse.move(header.x + 210, header.y + 5, { steps: 8 });
    await page.mouse.up();
    await expect(pie).not.toHaveAttribute("style", styleBefore!);
    // The pie pushed the line below it: bring the line's handle into view.
    await line.locator(".resize-handle").scrollIntoViewIfNeeded();
    const handle = (await line.locator(".resize-handle").boundingBox())!;
    const lineBefore = (await line.boundingBox())!;
    await page.mouse.move(handle.x + 5, handle.y + 5);
    await page.mouse.down();
    await page.mouse.move(handle.x + 5, handle.y + 120, { steps: 8 });
    await page.mouse.up();
    await expect.poll(async () => (await line.boundingBox())!.height).toBeGreaterThan(lineBefore.height + 60);
    // Keyboard users move panels with the arrow buttons.
    await pie.getByRole("button", { name: "Move right" }).click();
    const layout = async () =>
      page.locator("section.grid-panel").evaluateAll((nodes) => nodes.map((n) => `${n.getAttribute("aria-label")}|${(n.getAttribute("style") ?? "").replace(/;$/, "")}`).sort());
    const edited = await layout();
    expect(searches).toHaveLength(0);
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.locator("p.message")).toContainText("Saved");

    await page.reload();
    await waitForHydration(page);
    await allDrawn(page);
    expect(await layout()).toEqual(edited);
    await page.screenshot({ path: "artifacts/new-dashboard.png", fullPage: true });

    // Export with everything it needs, delete, import back.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export" }).click(),
    ]);
    const exported = fs.readFileSync((await download.path())!, "utf8");
    const types = exported.trim().split("\n").map((l) => JSON.parse(l).type).filter(Boolean);
    expect(types).toEqual(expect.arrayContaining(["dashboard", "visualization", "index-pattern"]));

    await page.goto("/dashboards");
    await waitForHydration(page);
    const row = page.locator("table.object-table tr", { hasText: "Two charts" });
    page.once("dialog", (d) => d.accept());
    await row.getByRole("button", { name: "Delete" }).click();
    await expect(row).toHaveCount(0);
    await page.locator("details.import summary").click();
    await page.locator('details.import input[type="file"]').setInputFiles((await download.path())!);
    await expect(page.locator('textarea[name="ndjson"]')).not.toHaveValue("");
    await page.getByLabel("Overwrite objects with the same id").check();
    await page.locator("details.import").getByRole("button", { name: "Import" }).click();
    await expect(page.locator("pre.import-report")).toContainText('"success": true');
    await page.goto(`/dashboards/${id}`);
    await waitForHydration(page);
    await allDrawn(page);
    expect(await layout()).toEqual(edited);
  });

  test("a panel whose query fails shows its own error while the others draw", async ({ page, request }) => {
    const broken = await request.post("/api/saved_objects/visualization/e2e-broken", {
      data: {
        attributes: {
          version: 1, title: "Broken phrase search", kind: "metric", index_pattern: "cwl-*", metric: "count", buckets: [],
          query: { language: "lucene", text: '@message:"two words"' },
        },
      },
    });
    expect(broken.ok()).toBeTruthy();
    const created = await request.post("/api/saved_objects/dashboard/e2e-broken-dashboard", {
      data: {
        attributes: {
          version: 1, title: "One broken panel",
          panels: [
            { id: "1", grid: { x: 0, y: 0, w: 24, h: 12 }, visualization_id: "e2e-broken" },
            { id: "2", grid: { x: 24, y: 0, w: 24, h: 12 }, visualization_id: "overview-action-pie" },
          ],
        },
      },
    });
    expect(created.ok(), await created.text()).toBeTruthy();
    await page.goto("/dashboards/e2e-broken-dashboard");
    await waitForHydration(page);
    await expect(panel(page, "Broken phrase search")).toContainText("phrases of several words");
    await expect(panel(page, "Accepted vs rejected").locator("canvas.chart")).toHaveAttribute("data-drawn", "true");
    await expect.poll(() => legend(panel(page, "Accepted vs rejected"))).toEqual(["ACCEPT", "REJECT"]);
  });
});
