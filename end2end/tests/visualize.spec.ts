import { test, expect, Page } from "@playwright/test";
import * as fs from "node:fs";
import {
  ACCEPT_GREEN, REJECT_RED, canvasColours, imagePixels, ingest, legend, recentFlowLines, waitForHydration,
} from "./helpers";

// Issue 5: the seed's two charts built through the editor on ingested data, saved, reloaded,
// exported, deleted, imported back and rendered on the server.

const PREVIEW = "section.preview";

async function openNewEditor(page: Page) {
  await page.goto("/visualize/new");
  await waitForHydration(page);
  await expect(page.locator("h1")).toHaveText("New visualization");
}

async function setTitle(page: Page, title: string) {
  const input = page.locator('input[name="title"]');
  await input.fill(title);
}

async function previewDrawn(page: Page) {
  await expect(page.locator(`${PREVIEW} canvas.chart`)).toHaveAttribute("data-drawn", "true");
}

async function save(page: Page): Promise<string> {
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.locator("p.message")).toContainText("Saved");
  await expect(page).toHaveURL(/\/visualize\/[^/]+$/);
  const id = new URL(page.url()).pathname.split("/").pop()!;
  expect(id).not.toBe("new");
  return id;
}

test.describe("visualize", () => {
  test.beforeAll(async ({ request }) => {
    const report = await ingest(request, recentFlowLines(40, 6));
    expect(report.rejected).toBe(0);
  });

  test("the seed pie: action, then destination port as a second ring", async ({ page }) => {
    await openNewEditor(page);
    await setTitle(page, "Seed pie");
    // Split slices by action…
    await page.getByRole("button", { name: "+ Add bucket" }).click();
    await page.locator('select[name="bucket0_field"]').selectOption("action");
    // …then by destination port inside each.
    await page.getByRole("button", { name: "+ Add bucket" }).click();
    await expect(page.locator('select[name="bucket1_field"]')).toHaveValue("dstport");
    await previewDrawn(page);
    await expect.poll(() => legend(page.locator(PREVIEW))).toEqual(
      expect.arrayContaining(["action", "ACCEPT", "REJECT", "dstport", "443 (https)", "22 (ssh)"]),
    );
    const pixels = await canvasColours(page, `${PREVIEW} canvas.chart`, { accept: ACCEPT_GREEN, reject: REJECT_RED });
    expect(pixels.counts.accept).toBeGreaterThan(2000);
    expect(pixels.counts.reject).toBeGreaterThan(500);
    const id = await save(page);
    await page.screenshot({ path: "artifacts/editor-seed-pie.png", fullPage: true });

    // Reload: the same visualization comes back from the store.
    await page.reload();
    await waitForHydration(page);
    await expect(page.locator('input[name="title"]')).toHaveValue("Seed pie");
    await previewDrawn(page);
    const legendBefore = await legend(page.locator(PREVIEW));
    expect(legendBefore).toEqual(expect.arrayContaining(["ACCEPT", "REJECT", "443 (https)"]));

    // Export JSON: the visualization with its index pattern.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export JSON" }).click(),
    ]);
    const exported = fs.readFileSync((await download.path())!, "utf8");
    const types = exported.trim().split("\n").map((line) => JSON.parse(line).type).filter(Boolean);
    expect(types).toEqual(expect.arrayContaining(["visualization", "index-pattern"]));

    // Delete it from the list (found by title: lists are paged)…
    await page.goto("/visualize?search=Seed%20pie");
    await waitForHydration(page);
    const row = page.locator("table.object-table tr", { hasText: "Seed pie" });
    await expect(row).toHaveCount(1);
    page.once("dialog", (dialog) => dialog.accept());
    await row.getByRole("button", { name: "Delete" }).click();
    await expect(row).toHaveCount(0);
    expect((await page.request.get(`/api/saved_objects/visualization/${id}`)).status()).toBe(404);

    // …import the export back from the file, and get the same chart.
    await page.locator("details.import summary").click();
    await page.locator('details.import input[type="file"]').setInputFiles((await download.path())!);
    await expect(page.locator('textarea[name="ndjson"]')).not.toHaveValue("");
    // The index pattern is still there: overwrite it with the exported copy.
    await page.getByLabel("Overwrite objects with the same id").check();
    await page.locator("details.import").getByRole("button", { name: "Import" }).click();
    await expect(page.locator("pre.import-report")).toContainText('"success": true');
    await expect(page.locator("table.object-table tr", { hasText: "Seed pie" })).toHaveCount(1);
    await page.goto(`/visualize/${id}`);
    await waitForHydration(page);
    await previewDrawn(page);
    await expect.poll(() => legend(page.locator(PREVIEW))).toEqual(legendBefore);

    // The server draws the same chart as a PNG.
    const png = await imagePixels(page, `/api/visualizations/${id}/render.png?from=now-1h&width=640&height=320`, ACCEPT_GREEN);
    expect(png.width).toBe(640);
    expect(png.height).toBe(320);
    expect(png.matching).toBeGreaterThan(2000);
  });

  test("the per-minute line of accepted and rejected flows", async ({ page }) => {
    await openNewEditor(page);
    await setTitle(page, "Flows per minute");
    await page.locator('select[name="kind"]').selectOption("Line");
    await expect(page.locator('select[name="bucket0_type"]')).toHaveValue("date_histogram");
    await page.locator('select[name="bucket0_interval"]').selectOption("1m");
    await page.getByRole("button", { name: "+ Add bucket" }).click();
    await page.locator('select[name="bucket1_field"]').selectOption("action");
    await page.locator("button.time-button").click();
    await page.getByRole("button", { name: "Last 1 hour" }).click();
    await previewDrawn(page);
    await expect.poll(() => legend(page.locator(PREVIEW))).toEqual(["ACCEPT", "REJECT"]);
    const pixels = await canvasColours(page, `${PREVIEW} canvas.chart`, { accept: ACCEPT_GREEN, reject: REJECT_RED });
    expect(pixels.counts.accept).toBeGreaterThan(300);
    expect(pixels.counts.reject).toBeGreaterThan(300);

    // Hovering the chart shows the nearest point's values.
    const canvas = page.locator(`${PREVIEW} canvas.chart`);
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
    await expect(page.locator(`${PREVIEW} .tooltip`)).toContainText("ACCEPT");

    // Rejected flows in blue instead: the colour is pinned to the term and saved with the chart.
    await page.getByLabel("Colour of REJECT").fill("#6092c0");
    const BLUE: [number, number, number] = [0x60, 0x92, 0xc0];
    await expect.poll(async () =>
      (await canvasColours(page, `${PREVIEW} canvas.chart`, { blue: BLUE, reject: REJECT_RED })).counts,
    ).toMatchObject({ blue: expect.any(Number), reject: 0 });
    expect((await canvasColours(page, `${PREVIEW} canvas.chart`, { blue: BLUE })).counts.blue).toBeGreaterThan(300);

    const id = await save(page);
    await page.reload();
    await waitForHydration(page);
    await expect(page.locator('select[name="bucket0_interval"]')).toHaveValue("1m");
    await previewDrawn(page);
    await expect.poll(() => legend(page.locator(PREVIEW))).toEqual(["ACCEPT", "REJECT"]);
    await expect(page.getByLabel("Colour of REJECT")).toHaveValue("#6092c0");
    expect((await canvasColours(page, `${PREVIEW} canvas.chart`, { blue: BLUE })).counts.blue).toBeGreaterThan(300);
    await page.screenshot({ path: "artifacts/editor-per-minute-line.png", fullPage: true });
    const svg = await page.request.get(`/api/visualizations/${id}/render.svg?from=now-1h`);
    expect(svg.headers()["content-type"]).toBe("image/svg+xml");
    const drawn = (await svg.text()).toLowerCase();
    expect(drawn).toContain("reject");
    expect(drawn).toContain("#6092c0");
  });

  test("an invalid visualization is refused with the bad field named", async ({ page, request }) => {
    const response = await request.post("/api/saved_objects/visualization", {
      data: { attributes: { version: 1, title: "Bad", kind: "pie", index_pattern: "cwl-*", metric: { sum: {} }, buckets: [] } },
    });
    expect(response.status()).toBe(400);
    const body = await response.json();
    expect(body.error.reason).toContain("metric.sum: missing field `field`");

    // The editor says what is wrong instead of drawing a wrong chart.
    await openNewEditor(page);
    await page.getByRole("button", { name: "+ Add bucket" }).click();
    await page.locator('input[name="bucket0_size"]').fill("0");
    await page.locator('input[name="bucket0_size"]').blur();
    await expect(page.locator("p.error[role=alert]").first()).toContainText("buckets[0]");
    await expect(page.getByRole("button", { name: "Save", exact: true })).toBeDisabled();
  });
});
