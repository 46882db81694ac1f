import { test, expect, chromium, Page } from "@playwright/test";
import * as fs from "node:fs";
import {
  allDrawn, ingest, legend, panel, recentFlowLines, waitForHydration,
} from "./helpers";

// Issue 19: what the user sees is what is saved and shared, and edits are not lost silently.

const DASHBOARD = "e2e-trust-save";
const port = Number(process.env.FLOWDASH_E2E_PORT ?? 3107);


async function openDashboard(page: Page, path = `/dashboards/${DASHBOARD}`) {
  await page.goto(path);
  await waitForHydration(page);
  await allDrawn(page);
}

async function chooseTime(page: Page, label: string) {
  await page.locator("button.time-button").click();
  await page.getByRole("button", { name: label }).click();
  await expect(page.locator("button.time-button")).toContainText(label);
}

test.describe("trust", () => {
  test.beforeAll(async ({ request }) => {
    const report = await ingest(request, recentFlowLines(30, 6));
    expect(report.rejected).toBe(0);
    const created = await request.post(`/api/saved_objects/dashboard/${DASHBOARD}?overwrite=true`, {
      data: {
        attributes: {
          version: 1, title: "Trust: saved views",
          panels: [
            { id: "1", grid: { x: 0, y: 0, w: 24, h: 12 }, visualization_id: "overview-action-pie" },
            { id: "2", grid: { x: 24, y: 0, w: 24, h: 12 }, visualization_id: "overview-flows-over-time" },
          ],
        },
      },
    });
    expect(created.ok(), await created.text()).toBeTruthy();
  });

  test("1. Save keeps the query, the filters and, with “Store time with dashboard”, the time", async ({ page, browser }) => {
    await openDashboard(page);
    await expect.poll(() => legend(panel(page, "Accepted vs rejected"))).toEqual(["ACCEPT", "REJECT"]);

    await chooseTime(page, "Last 1 hour");
    await page.getByRole("button", { name: "+ Add filter" }).click();
    await page.getByLabel("Filter field").fill("action");
    await page.getByLabel("Filter value").fill("REJECT");
    await page.locator("form.add-filter").getByRole("button", { name: "Add" }).click();
    await expect(page.locator(".filter-bar .pill-label")).toHaveText("action: REJECT");
    await page.getByLabel("Query", { exact: true }).fill("protocol:6");
    await page.getByRole("button", { name: "Update" }).click();
    await expect(page).toHaveURL(/q=protocol/);
    await allDrawn(page);
    await expect.poll(() => legend(panel(page, "Accepted vs rejected"))).toEqual(["REJECT"]);

    await page.getByRole("button", { name: "Edit" }).click();
    const storeTime = page.getByLabel("Store time with dashboard");
    await expect(storeTime).not.toBeChecked();
    await storeTime.check();
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.locator("p.message")).toContainText("Saved");
    // What was saved is in the dashboard now: the address is the dashboard's own.
    await expect(page).toHaveURL(new RegExp(`/dashboards/${DASHBOARD}$`));
    await expect(page.locator(".filter-bar .pill-label")).toHaveText("action: REJECT");

    const fresh = await (await browser.newContext()).newPage();
    await openDashboard(fresh);
    await expect(fresh.locator(".filter-bar .pill-label")).toHaveText("action: REJECT");
    await expect(fresh.getByLabel("Query", { exact: true })).toHaveValue("protocol:6");
    await expect(fresh.locator("button.time-button")).toContainText("Last 1 hour");
    await expect.poll(() => legend(panel(fresh, "Accepted vs rejected"))).toEqual(["REJECT"]);

    // Store time off: the query and filters stay, the time is no longer stored.
    await chooseTime(fresh, "Last 15 minutes");
    await fresh.getByRole("button", { name: "Edit" }).click();
    const again = fresh.getByLabel("Store time with dashboard");
    await expect(again).toBeChecked();
    await again.uncheck();
    await fresh.getByRole("button", { name: "Save", exact: true }).click();
    await expect(fresh.locator("p.message")).toContainText("Saved");
    await fresh.close();

    const third = await (await browser.newContext()).newPage();
    await openDashboard(third);
    await expect(third.locator(".filter-bar .pill-label")).toHaveText("action: REJECT");
    await expect(third.getByLabel("Query", { exact: true })).toHaveValue("protocol:6");
    await expect(third.locator("button.time-button")).toContainText("Last 24 hours");
    await expect.poll(() => legend(panel(third, "Accepted vs rejected"))).toEqual(["REJECT"]);
    // The saved filter can be taken off for this view.
    await third.getByRole("button", { name: "Remove action: REJECT" }).click();
    await expect(third.locator(".filter-bar .pill")).toHaveCount(0);
    await allDrawn(third);
    await expect.poll(() => legend(panel(third, "Accepted vs rejected"))).toEqual(["ACCEPT", "REJECT"]);
    await third.close();
  });

  test("3. Share and Short link show the link on a plain-HTTP address that is not localhost", async () => {
    const insecure = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--host-resolver-rules=MAP flowdash.test 127.0.0.1",
      ],
    });
    try {
      const page = await (await insecure.newContext()).newPage();
      const origin = `http://flowdash.test:${port}`;
      await page.goto(`${origin}/dashboards/${DASHBOARD}?from=now-1h&to=now&q=dstport%3A22`);
      await waitForHydration(page);
      expect(await page.evaluate(() => window.isSecureContext)).toBe(false);
      await allDrawn(page);

      await page.getByRole("button", { name: "Share" }).click();
      const field = page.getByLabel("Link to this view");
      await expect(field).toHaveValue(new RegExp(`^${origin}/dashboards/${DASHBOARD}\\?from=now-1h&to=now&q=dstport`));
      await expect(field).toHaveAttribute("readonly", "");
      await expect(page.locator("p.message")).not.toContainText("copied");

      await page.getByRole("button", { name: "Short link" }).click();
      await expect(field).toHaveValue(new RegExp(`^${origin}/goto/[^/]+$`));
      await expect(page.locator("p.message")).not.toContainText("copied");
      const short = await field.inputValue();

      const other = await (await insecure.newContext()).newPage();
      await other.goto(short);
      await waitForHydration(other);
      await expect(other).toHaveURL(new RegExp(`/dashboards/${DASHBOARD}\\?from=now-1h&to=now&q=dstport`));
      await expect(other.locator("button.time-button")).toContainText("Last 1 hour");
      await expect(other.getByLabel("Query", { exact: true })).toHaveValue("dstport:22");

      // Discover on the same address: flows, and a short link that opens the same view.
      const discover = await (await insecure.newContext()).newPage();
      await discover.goto(`${origin}/discover?index=cwl-*&from=now-1h&to=now&q=action%3AREJECT`);
      await waitForHydration(discover);
      await expect(discover.locator("tr.flow-row").first()).toBeVisible();
      await discover.getByRole("button", { name: "Short link" }).click();
      const discoverLink = discover.getByLabel("Link to this view");
      await expect(discoverLink).toHaveValue(new RegExp(`^${origin}/goto/[^/]+$`));
      await other.goto(await discoverLink.inputValue());
      await waitForHydration(other);
      await expect(other).toHaveURL(/\/discover\?.*q=action/);
      await expect(other.getByLabel("Query", { exact: true })).toHaveValue("action:REJECT");
      await expect(other.locator("tr.flow-row").first()).toBeVisible();
    } finally {
      await insecure.close();
    }
  });

  test("3. on localhost the link is copied and shown", async ({ page }) => {
    await openDashboard(page, `/dashboards/${DASHBOARD}?from=now-1h&to=now`);
    await page.getByRole("button", { name: "Share" }).click();
    await expect(page.getByLabel("Link to this view")).toHaveValue(/from=now-1h&to=now$/);
    await expect(page.locator("p.message")).toContainText("copied");
  });

  test("2. the editor shows, edits and saves the visualization's own query and filters", async ({ page, request }) => {
    const pie = await (await request.get("/api/saved_objects/visualization/overview-action-pie")).json();
    const created = await request.post("/api/saved_objects/visualization/e2e-trust-vis", {
      data: {
        attributes: {
          ...pie.attributes,
          title: "Trust: own filters",
          filters: [{ field: "action", type: "phrase", value: "REJECT" }],
        },
      },
    });
    expect(created.ok(), await created.text()).toBeTruthy();
    const preview = page.locator("section.preview");
    await page.goto("/visualize/e2e-trust-vis");
    await waitForHydration(page);
    // The filter it was saved with is shown, and applies.
    await expect(page.locator(".filter-bar .pill-label")).toHaveText("action: REJECT");
    await expect.poll(() => legend(preview)).toEqual(["REJECT"]);

    await page.getByRole("button", { name: "Remove action: REJECT" }).click();
    await expect(page.locator(".filter-bar .pill")).toHaveCount(0);
    await expect.poll(() => legend(preview)).toEqual(["ACCEPT", "REJECT"]);
    await page.getByLabel("Query", { exact: true }).fill("action:ACCEPT");
    await page.getByRole("button", { name: "Update" }).click();
    await expect.poll(() => legend(preview)).toEqual(["ACCEPT"]);
    await expect(page.getByText("Unsaved changes")).toBeVisible();
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.locator("p.message")).toContainText("Saved");
    await expect(page.getByText("Unsaved changes")).toHaveCount(0);

    const saved = await (await request.get("/api/saved_objects/visualization/e2e-trust-vis")).json();
    expect(saved.attributes.query.text).toBe("action:ACCEPT");
    expect(saved.attributes.filters).toEqual([]);
    await page.reload();
    await waitForHydration(page);
    await expect(page.getByLabel("Query", { exact: true })).toHaveValue("action:ACCEPT");
    await expect(page.locator(".filter-bar .pill")).toHaveCount(0);
    await expect.poll(() => legend(preview)).toEqual(["ACCEPT"]);
  });

  test("6. Export JSON of an unsaved visualization imports back", async ({ page }) => {
    // Leaving the unsaved editor asks: yes.
    page.on("dialog", (d) => d.accept());
    await page.goto("/visualize/new");
    await waitForHydration(page);
    await page.locator('input[name="title"]').fill("Trust: unsaved export");
    await page.getByLabel("Query", { exact: true }).fill("action:REJECT");
    await page.getByRole("button", { name: "Update" }).click();
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export JSON" }).click(),
    ]);
    const file = (await download.path())!;
    const lines = fs.readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line));
    expect(lines.map((l) => l.type).filter(Boolean)).toEqual(["visualization", "index-pattern"]);
    expect(lines[0].attributes.title).toBe("Trust: unsaved export");

    // Found by title: lists are paged.
    await page.goto("/visualize?search=Trust%3A%20unsaved%20export");
    await waitForHydration(page);
    await page.locator("details.import summary").click();
    await page.locator('details.import input[type="file"]').setInputFiles(file);
    await expect(page.locator('textarea[name="ndjson"]')).not.toHaveValue("");
    await page.getByLabel("Overwrite objects with the same id").check();
    await page.locator("details.import").getByRole("button", { name: "Import" }).click();
    await expect(page.locator("pre.import-report")).toContainText('"success": true');
    const row = page.locator("table.object-table tr", { hasText: "Trust: unsaved export" });
    await expect(row).toHaveCount(1);
    await page.goto(`/visualize/${lines[0].id}`);
    await waitForHydration(page);
    await expect(page.locator('input[name="title"]')).toHaveValue("Trust: unsaved export");
    await expect(page.getByLabel("Query", { exact: true })).toHaveValue("action:REJECT");
    await expect.poll(() => legend(page.locator("section.preview"))).toEqual(["Count"]);
  });

  test("5. an index pattern is checked before it is created, its time field chosen, its delete confirmed", async ({ page }) => {
    await page.goto("/management/index-patterns");
    await waitForHydration(page);
    const pattern = page.getByLabel("Index pattern", { exact: true });
    const create = page.getByRole("button", { name: "Create index pattern" });
    const check = page.locator("p.pattern-check");

    // Off the allow-list: the server's refusal, and nothing to create.
    await pattern.fill("secret-*");
    await expect(check).toContainText("allow-list");
    await expect(check).toHaveAttribute("role", "alert");
    await expect(create).toBeDisabled();
    // Allowed, but no index matches.
    await pattern.fill("cwl-none-*");
    await expect(check).toHaveText("No index matches cwl-none-*");
    await expect(create).toBeDisabled();

    // Matching indices: the time field is chosen from their date fields.
    await pattern.fill("cwl-2*");
    await expect(check).toHaveText(/^\d+ fields$/);
    const timeField = page.getByLabel("Time field", { exact: true });
    await expect(timeField).toBeEnabled();
    await expect(timeField).toHaveValue("@timestamp");
    expect(await timeField.locator("option").allTextContents()).toContain("@timestamp");
    await create.click();
    await expect(page.locator("p.message")).toContainText("Created cwl-2* with");
    const row = page.locator("table.object-table tbody tr", { hasText: "cwl-2*" });
    await expect(row).toHaveCount(1);

    // Delete asks first: declining keeps the pattern.
    page.once("dialog", (d) => d.dismiss());
    await page.getByRole("button", { name: "Delete cwl-2*" }).click();
    await expect(row).toHaveCount(1);
    page.once("dialog", (d) => d.accept());
    await page.getByRole("button", { name: "Delete cwl-2*" }).click();
    await expect(row).toHaveCount(0);
  });

  test("7. without JavaScript the server's render is the view: its images, no Loading…, filled forms", async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      await page.goto(`/dashboards/${DASHBOARD}?from=now-1h&to=now&q=action%3AREJECT`);
      await expect(page.getByLabel("Query", { exact: true })).toHaveValue("action:REJECT");
      await expect(page.getByText("Loading…", { exact: true }).first()).toBeHidden();
      const images = page.locator("img.server-chart");
      await expect(images).toHaveCount(2);
      const sources = [await images.nth(0).getAttribute("src"), await images.nth(1).getAttribute("src")] as string[];
      for (const src of sources) {
        expect(src).toContain("q=action%3AREJECT");
        expect(src).toMatch(/from=now-1h&to=now/);
        // Sized to the panel: 24 of 48 columns, 12 rows.
        expect(src).toMatch(/width=624&height=296&now=\d+$/);
      }
      const svg = await (await page.request.get(sources[0])).text();
      expect(svg).toContain("REJECT");
      expect(svg).not.toContain("ACCEPT");
    } finally {
      await context.close();
    }
  });

  test("7. before hydration panels are the server's images; the browser's drawings replace them", async ({ page }) => {
    // The bundle never arrives: what shows is the server's page alone.
    await page.route(/\/pkg\/.*\.wasm$/, (route) => route.abort());
    const path = `/dashboards/${DASHBOARD}?from=now-1h&to=now&q=action%3AREJECT`;
    await page.goto(path);
    const images = page.locator(".chart-frame img.server-chart");
    await expect(images).toHaveCount(2);
    for (const image of await images.all()) {
      await expect(image).toBeVisible();
      expect(await image.getAttribute("src")).toContain("q=action%3AREJECT");
      // Loaded and drawn, not a broken image.
      await expect.poll(() => image.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth > 0)).toBe(true);
    }
    await expect(page.getByText("Loading…", { exact: true })).toHaveCount(0);

    // With the bundle, the canvases take over and the images go.
    await page.unroute(/\/pkg\/.*\.wasm$/);
    await page.goto(path);
    await waitForHydration(page);
    await allDrawn(page);
    await expect(page.locator("img.server-chart")).toHaveCount(0);
    await expect(page.locator('canvas.chart[data-drawn="true"]')).toHaveCount(2);
    // A dashboard reached by navigating in the browser draws without asking for images.
    const images_asked: string[] = [];
    page.on("request", (r) => { if (r.url().includes("/render.svg")) images_asked.push(r.url()); });
    await page.getByRole("link", { name: "Visualize" }).click();
    await expect(page.locator("section.grid-panel")).toHaveCount(0);
    await page.goBack();
    await expect(page.locator("section.grid-panel")).toHaveCount(2);
    await allDrawn(page);
    await expect(page.locator("img.server-chart")).toHaveCount(0);
    expect(images_asked).toEqual([]);

    // On the server's page itself, a panel added after hydration draws without one too.
    await page.goto(path);
    await waitForHydration(page);
    await allDrawn(page);
    images_asked.length = 0;
    await page.getByRole("button", { name: "Edit" }).click();
    await page.locator('.add-panel select[name="visualization"]').selectOption({ label: "Protocol mix" });
    await page.getByRole("button", { name: "Add panel" }).click();
    await expect(page.locator("section.grid-panel")).toHaveCount(3);
    await allDrawn(page);
    await expect(page.locator('canvas.chart[data-drawn="true"]')).toHaveCount(3);
    expect(images_asked).toEqual([]);
  });

  test("4. leaving the editor with unsaved changes asks first", async ({ page }) => {
    await page.goto("/visualize/overview-action-pie");
    await waitForHydration(page);
    await expect(page.locator("h1")).toHaveText("Edit visualization");
    await expect(page.getByText("Unsaved changes")).toHaveCount(0);
    await page.locator('input[name="title"]').fill("Accepted vs rejected, edited");
    await expect(page.getByText("Unsaved changes")).toBeVisible();

    // An in-app link: the confirm appears, dismissing it keeps the edits.
    const dialogs: string[] = [];
    page.once("dialog", (d) => { dialogs.push(d.type()); d.dismiss(); });
    await page.getByRole("link", { name: "Dashboards" }).click();
    await expect.poll(() => dialogs).toEqual(["confirm"]);
    await expect(page).toHaveURL(/\/visualize\/overview-action-pie$/);
    await expect(page.locator('input[name="title"]')).toHaveValue("Accepted vs rejected, edited");

    // Unloading the page: the browser's own question.
    page.once("dialog", (d) => { dialogs.push(d.type()); d.dismiss(); });
    await page.close({ runBeforeUnload: true });
    await expect.poll(() => dialogs).toEqual(["confirm", "beforeunload"]);
  });

  test("4. leaving a dashboard in edit mode with unsaved changes asks first", async ({ page }) => {
    await openDashboard(page);
    await page.getByRole("button", { name: "Edit" }).click();
    await expect(page.getByText("Unsaved changes")).toHaveCount(0);
    const pie = panel(page, "Accepted vs rejected");
    // The panel's place (the server writes a trailing `;`, the browser none).
    const place = async () => ((await pie.getAttribute("style")) ?? "").replace(/;$/, "");
    const before = await place();
    await pie.getByRole("button", { name: "Narrower" }).click();
    await expect.poll(place).not.toBe(before);
    await expect(page.getByText("Unsaved changes")).toBeVisible();
    const moved = await place();

    const dialogs: string[] = [];
    page.once("dialog", (d) => { dialogs.push(d.type()); d.dismiss(); });
    await page.getByRole("button", { name: "Cancel" }).click();
    await expect.poll(() => dialogs).toEqual(["confirm"]);
    expect(await place()).toBe(moved);
    await expect(page.getByRole("button", { name: "Save", exact: true })).toBeVisible();

    page.once("dialog", (d) => { dialogs.push(d.type()); d.dismiss(); });
    await page.getByRole("link", { name: "Visualize" }).click();
    await expect.poll(() => dialogs).toEqual(["confirm", "confirm"]);
    await expect(page).toHaveURL(new RegExp(`/dashboards/${DASHBOARD}$`));
    expect(await place()).toBe(moved);

    // Accepting the Cancel discards the edits.
    page.once("dialog", (d) => { dialogs.push(d.type()); d.accept(); });
    await page.getByRole("button", { name: "Cancel" }).click();
    await expect.poll(place).toBe(before);
    await expect(page.getByText("Unsaved changes")).toHaveCount(0);
  });
});
