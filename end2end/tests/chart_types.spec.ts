import { test, expect } from "@playwright/test";
import { canvasColours, colourPoint, ingest, legend, panel, recentFlowLines, waitForHydration } from "./helpers";

// Issue 19, builds 4 and 5: a heatmap of destination ports by minute (built in the editor, on
// a dashboard, rendered by the server with the same drawer), and a threshold line.

const DARKEST: [number, number, number] = [0x08, 0x51, 0x9c];
const PREVIEW = "section.preview";

test.describe("chart types", () => {
  test.beforeAll(async ({ request }) => {
    const report = await ingest(request, recentFlowLines(30, 6));
    expect(report.rejected).toBe(0);
  });

  test("ports by minute: built in the editor, banded, pointed at, on a dashboard", async ({ page, request }) => {
    await page.goto("/visualize/new");
    await waitForHydration(page);
    await page.locator('input[name="title"]').fill("Destination ports by minute");
    await page.locator('select[name="kind"]').selectOption("Heatmap");
    await page.locator('select[name="bucket0_interval"]').selectOption("1m");
    await page.getByRole("button", { name: "+ Add bucket" }).click();
    // A heatmap's split is its rows: the editor calls it the y axis.
    const role = page.locator('.bucket[data-bucket="1"] select[aria-label="Bucket role"]');
    await expect(role).toHaveValue("SplitSeries");
    await expect(role.locator('option[value="SplitSeries"]')).toHaveText("Y axis");
    await page.locator('select[name="bucket1_field"]').selectOption("dstport");
    await page.locator("button.time-button").click();
    await page.getByRole("button", { name: "Last 1 hour" }).click();
    const canvas = page.locator(`${PREVIEW} canvas.chart`);
    await expect(canvas).toHaveAttribute("data-drawn", "true");

    // The legend: what the colours measure, then five bands of whole numbers.
    await expect.poll(() => legend(page.locator(PREVIEW))).toHaveLength(6);
    const lines = await legend(page.locator(PREVIEW));
    expect(lines[0]).toBe("Count");
    for (const band of lines.slice(1)) expect(band).toMatch(/^\d+(\.\d+)?k? – \d+(\.\d+)?k?$/);
    // No colours to pin: a heatmap's colours are its bands.
    await expect(page.getByLabel(/^Colour of/)).toHaveCount(0);

    // The darkest cells are the busiest port; pointing at one names the port and the count.
    await canvas.hover({ position: await colourPoint(canvas, DARKEST, 4) });
    const tooltip = page.locator(`${PREVIEW} .tooltip`);
    await expect(tooltip.locator(".tooltip-title")).toHaveText(/\d{1,2}:\d{2}/);
    await expect(tooltip).toContainText("443");

    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.locator("p.message")).toContainText("Saved");
    await expect(page).toHaveURL(/\/visualize\/(?!new$)[^/]+$/);
    const id = new URL(page.url()).pathname.split("/").pop()!;

    // On a dashboard, a click on a cell filters by its port.
    const created = await request.post("/api/saved_objects/dashboard/e2e-heatmap?overwrite=true", {
      data: {
        attributes: {
          version: 1, title: "Ports heatmap",
          panels: [{ id: "1", grid: { x: 0, y: 0, w: 48, h: 16 }, visualization_id: id }],
        },
      },
    });
    expect(created.ok(), await created.text()).toBeTruthy();
    await page.goto("/dashboards/e2e-heatmap?from=now-1h&to=now");
    await waitForHydration(page);
    const onDashboard = panel(page, "Destination ports by minute").locator('canvas.chart[data-drawn="true"]');
    await expect(onDashboard).toBeVisible();
    await onDashboard.click({ position: await colourPoint(onDashboard, DARKEST, 4) });
    await expect(page.locator(".filter-bar .pill-label")).toHaveText("dstport: 443 (https)");
    await expect(page).toHaveURL(/dstport/);

    // The server draws the same bands.
    const svg = await (await request.get(`/api/visualizations/${id}/render.svg?from=now-1h&to=now&width=800&height=400`)).text();
    expect(svg.toLowerCase()).toContain("#08519c");
    expect(svg).toContain("443 (https)");
  });

  test("a threshold line: set in the editor, drawn in red with its label, saved", async ({ page, request }) => {
    const RED: [number, number, number] = [0xbd, 0x27, 0x1e];
    await page.goto("/visualize/new");
    await waitForHydration(page);
    await page.locator('input[name="title"]').fill("Flows per minute against a threshold");
    await page.locator('select[name="kind"]').selectOption("Line");
    await page.locator("button.time-button").click();
    await page.getByRole("button", { name: "Last 1 hour" }).click();
    const canvas = page.locator(`${PREVIEW} canvas.chart`);
    await expect(canvas).toHaveAttribute("data-drawn", "true");
    expect((await canvasColours(page, `${PREVIEW} canvas.chart`, { red: RED })).counts.red).toBe(0);

    await expect(page.locator('input[name="threshold_label"]')).toBeDisabled();
    await page.locator('input[name="threshold_value"]').fill("5");
    await page.locator('input[name="threshold_value"]').press("Tab");
    await page.locator('input[name="threshold_label"]').fill("alert");
    await page.locator('input[name="threshold_label"]').press("Tab");
    await expect.poll(async () => (await canvasColours(page, `${PREVIEW} canvas.chart`, { red: RED })).counts.red).toBeGreaterThan(100);

    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.locator("p.message")).toContainText("Saved");
    await expect(page).toHaveURL(/\/visualize\/(?!new$)[^/]+$/);
    const id = new URL(page.url()).pathname.split("/").pop()!;
    await page.reload();
    await waitForHydration(page);
    await expect(page.locator('input[name="threshold_value"]')).toHaveValue("5");
    await expect(page.locator('input[name="threshold_label"]')).toHaveValue("alert");
    const svg = await (await request.get(`/api/visualizations/${id}/render.svg?from=now-1h&to=now`)).text();
    expect(svg.toLowerCase()).toContain("#bd271e");
    expect(svg).toContain("alert 5");
  });

  test("compared with an hour ago: the series again, an hour earlier, on the same axis", async ({ page, request }) => {
    // Flows 65-95 minutes ago, on a port of their own: last hour's "hour ago".
    const now = Math.floor(Date.now() / 1000);
    const earlier = Array.from({ length: 30 }, (_, i) => {
      const start = now - (65 + i) * 60;
      return [2, "123456789012", "eni-0e2e0e2e0e2e0e2e1", "198.51.100.250", "10.0.1.20", 41000 + i, 8443, 6, 3, 300,
        start, start + 30, "ACCEPT", "OK"].join(" ");
    }).join("\n") + "\n";
    expect((await ingest(request, earlier)).rejected).toBe(0);

    await page.goto("/visualize/new");
    await waitForHydration(page);
    await page.locator('input[name="title"]').fill("Flows on 8443, against an hour ago");
    await page.locator('select[name="kind"]').selectOption("Line");
    await page.locator('select[name="bucket0_interval"]').selectOption("1m");
    await page.getByLabel("Query", { exact: true }).fill("dstport:8443");
    await page.getByRole("button", { name: "Update" }).click();
    await page.locator("button.time-button").click();
    await page.getByRole("button", { name: "Last 1 hour" }).click();
    await expect(page.locator(`${PREVIEW} canvas.chart`)).toHaveAttribute("data-drawn", "true");
    await page.locator('select[name="time_shift"]').selectOption("1h");
    await expect.poll(() => legend(page.locator(PREVIEW))).toEqual(["Count", "Count (1 hour ago)"]);
    // The hour-ago series has the flows; this hour has none on that port.
    const canvas = page.locator(`${PREVIEW} canvas.chart`);
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.5);
    const tooltip = page.locator(`${PREVIEW} .tooltip`);
    await expect(tooltip).toContainText("Count (1 hour ago)");

    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.locator("p.message")).toContainText("Saved");
    await expect(page).toHaveURL(/\/visualize\/(?!new$)[^/]+$/);
    await page.reload();
    await waitForHydration(page);
    await expect(page.locator('select[name="time_shift"]')).toHaveValue("1h");
    await expect.poll(() => legend(page.locator(PREVIEW))).toEqual(["Count", "Count (1 hour ago)"]);
  });

  test("a Sankey of actions to ports: built in the editor, pointed at, a link clicked on a dashboard", async ({ page, request }) => {
    // ACCEPT's links: its green (54b399) at 40 % over the white panel, as links are drawn
    // (LINK_OPACITY in app/src/charts/sankey.rs).
    const ACCEPT_LINK: [number, number, number] = [187, 225, 214];
    await page.goto("/visualize/new");
    await waitForHydration(page);
    await page.locator('input[name="title"]').fill("Actions to ports");
    await page.locator('select[name="kind"]').selectOption("Sankey");
    // The pie's action and port levels carry over as the Sankey's columns.
    const role = page.locator('.bucket[data-bucket="1"] select[aria-label="Bucket role"]');
    await expect(role).toHaveValue("Nodes");
    await expect(role.locator('option[value="Nodes"]')).toHaveText("Node column");
    await page.locator("button.time-button").click();
    await page.getByRole("button", { name: "Last 1 hour" }).click();
    const canvas = page.locator(`${PREVIEW} canvas.chart`);
    await expect(canvas).toHaveAttribute("data-drawn", "true");
    // The legend lists each column's nodes under its field.
    await expect.poll(() => legend(page.locator(PREVIEW))).toEqual(expect.arrayContaining(["action", "ACCEPT", "REJECT", "dstport", "443 (https)"]));

    // Pointing at one of ACCEPT's links names both its ends and its flows.
    await canvas.hover({ position: await colourPoint(canvas, ACCEPT_LINK, 6) });
    const tooltip = page.locator(`${PREVIEW} .tooltip`);
    await expect(tooltip.locator(".tooltip-title")).toHaveText(/^ACCEPT → \d+/);
    await expect(tooltip).toContainText("Share of ACCEPT");

    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.locator("p.message")).toContainText("Saved");
    await expect(page).toHaveURL(/\/visualize\/(?!new$)[^/]+$/);
    const id = new URL(page.url()).pathname.split("/").pop()!;

    // On a dashboard, a click on the link filters by both its ends.
    const created = await request.post("/api/saved_objects/dashboard/e2e-sankey?overwrite=true", {
      data: {
        attributes: {
          version: 1, title: "Actions to ports",
          panels: [{ id: "1", grid: { x: 0, y: 0, w: 48, h: 16 }, visualization_id: id }],
        },
      },
    });
    expect(created.ok(), await created.text()).toBeTruthy();
    await page.goto("/dashboards/e2e-sankey?from=now-1h&to=now");
    await waitForHydration(page);
    const onDashboard = panel(page, "Actions to ports").locator('canvas.chart[data-drawn="true"]');
    await expect(onDashboard).toBeVisible();
    const point = await colourPoint(onDashboard, ACCEPT_LINK, 6);
    await onDashboard.hover({ position: point });
    const tip = panel(page, "Actions to ports").locator(".tooltip-title");
    await expect(tip).toHaveText(/^ACCEPT → \d+/);
    const title = (await tip.textContent())!;
    const port = title.replace(/^ACCEPT → /, "");
    await onDashboard.click({ position: point });
    await expect(page.locator(".filter-bar .pill-label")).toHaveText(["action: ACCEPT", `dstport: ${port}`]);
    await expect(page).toHaveURL(/dstport/);

    // The server draws it too, its nodes named.
    const svg = await (await request.get(`/api/visualizations/${id}/render.svg?from=now-1h&to=now&width=800&height=400`)).text();
    expect(svg).toContain("ACCEPT");
    expect(svg).toContain("443 (https)");
  });
});
