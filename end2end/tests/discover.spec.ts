import { test, expect, Page } from "@playwright/test";
import * as fs from "node:fs";
import { ingest, panel, clickColour, REJECT_RED, legend, waitForHydration } from "./helpers";

// Issue 18: the seed's Discover step done as a user would, and the drill-down from a chart.

/** Rejected flows from 203.0.113.x in the last 10 minutes, and accepted ones to pad them. */
function discoverLines(): string {
  const now = Math.floor(Date.now() / 1000);
  const lines: string[] = [];
  for (let i = 0; i < 130; i++) {
    const start = now - 600 + i * 4;
    lines.push([2, "123456789012", `eni-0d15c0${String(i % 7).padStart(4, "0")}`, `203.0.113.${(i % 40) + 1}`, "10.0.9.9",
      50000 + i, [22, 3389, 445, 23][i % 4], 6, 3, 180 + i, start, start + 30, "REJECT", "OK"].join(" "));
    lines.push([2, "123456789012", "eni-0d15c0ffff", "10.0.9.9", `198.51.100.${(i % 9) + 1}`,
      443, 50000 + i, 6, 10, 4000 + i, start, start + 30, "ACCEPT", "OK"].join(" "));
  }
  return lines.join("\n") + "\n";
}

/** What the engine itself counts of rejected flows in the range the page resolved (its
 * hit count carries it), so that flows at the edge of "last 15 minutes" count alike. */
async function countRejected(page: Page): Promise<number> {
  const count = page.locator(".hit-count");
  await expect(count).toHaveAttribute("data-from", /\d+/);
  const [from, to] = [Number(await count.getAttribute("data-from")), Number(await count.getAttribute("data-to"))];
  const response = await page.request.post("/api/search", {
    data: { index: "cwl-*", body: { size: 0, track_total_hits: true, query: { bool: { filter: [
      { range: { "@timestamp": { gte: from, lte: to, format: "epoch_millis" } } }, { term: { action: "REJECT" } },
    ] } } } },
  });
  expect(response.ok()).toBeTruthy();
  return (await response.json()).hits.total.value;
}

async function cellTexts(page: Page, column: string): Promise<string[]> {
  return page.locator(`table.flow-table tr.flow-row td[data-column="${column}"]`).allTextContents();
}

test.describe("discover", () => {
  test.beforeAll(async ({ request }) => {
    const report = await ingest(request, discoverLines());
    expect(report.rejected).toBe(0);
  });

  test("the seed's step: pattern, time, query, columns, sort, pages, a flow, its neighbours, save, CSV", async ({ page }) => {
    await page.goto("/discover");
    await waitForHydration(page);
    await page.getByLabel("Index pattern").selectOption("cwl-*");
    await page.locator("button.time-button").click();
    await page.locator(".quick-ranges").getByRole("button", { name: "Last 15 minutes" }).click();
    await expect(page).toHaveURL(/from=now-15m/);
    await page.getByLabel("Query", { exact: true }).fill("action:REJECT");
    await page.getByRole("button", { name: "Update" }).click();
    await expect(page).toHaveURL(/q=action%3AREJECT/);

    // The count is the engine's own, and the histogram drew.
    const rejected = await countRejected(page);
    expect(rejected).toBeGreaterThanOrEqual(130);
    await expect(page.locator(".hit-count")).toHaveText(`${rejected.toLocaleString("en-US")} flows`);
    await expect(page.locator(".discover-histogram canvas.chart")).toHaveAttribute("data-drawn", "true");
    await expect(page.locator("tr.flow-row")).toHaveCount(50);
    await expect(page.locator("tr.flow-row td.summary").first()).toContainText("action: REJECT");

    // Columns from the field list, then sort by port, largest first.
    await page.getByRole("button", { name: "Add column srcaddr" }).click();
    await page.getByRole("button", { name: "Add column dstport" }).click();
    await expect(page).toHaveURL(/columns=srcaddr%2Cdstport/);
    await expect(page.locator("table.flow-table thead th[data-column]")).toHaveText([/srcaddr/, /dstport/]);
    await page.getByRole("button", { name: "Sort by dstport" }).click();
    await expect(page).toHaveURL(/sort=dstport%3Adesc/);
    await expect.poll(async () => (await cellTexts(page, "dstport"))[0]).toBe("3389 (rdp)");
    const firstPage = await cellTexts(page, "dstport");
    const ports = firstPage.map((text) => parseInt(text, 10));
    expect(ports.every((port) => port > 0)).toBe(true);
    expect([...ports].sort((a, b) => b - a)).toEqual(ports);

    // Past the first page with search_after: no flow twice, the order goes on.
    const firstKeys = await page.locator("tr.flow-row").evaluateAll((rows) => rows.map((r) => r.textContent));
    await page.getByRole("button", { name: "Next ›" }).click();
    await expect(page.locator(".page-number")).toContainText("Page 2: flows 51–");
    const secondPorts = (await cellTexts(page, "dstport")).map((text) => parseInt(text, 10));
    expect(secondPorts[0]).toBeLessThanOrEqual(ports[ports.length - 1]);
    const secondKeys = await page.locator("tr.flow-row").evaluateAll((rows) => rows.map((r) => r.textContent));
    expect(secondKeys.filter((k) => firstKeys.includes(k))).toEqual([]);
    await page.getByRole("button", { name: "‹ Previous" }).click();
    await expect(page.locator(".page-number")).toContainText("Page 1");

    // A flow, expanded: filter for its source address.
    await page.getByRole("button", { name: "Expand flow" }).first().click();
    const detail = page.locator("tr.flow-detail");
    await expect(detail.getByRole("tab", { name: "JSON" })).toBeVisible();
    const address = await detail.locator('tr[data-field="srcaddr"] td.field-value').textContent();
    await detail.getByRole("button", { name: `Filter for srcaddr: ${address}` }).click();
    await expect(page.locator(".filter-bar .pill-label")).toHaveText(`srcaddr: ${address}`);
    await expect.poll(async () => new Set(await cellTexts(page, "srcaddr"))).toEqual(new Set([address]));

    // Its surrounding flows, without the filters: the flow sits among its neighbours.
    // (The flow stays expanded when a filter keeps it on the page.)
    const expand = page.getByRole("button", { name: "Expand flow" }).first();
    if ((await expand.getAttribute("aria-expanded")) !== "true") await expand.click();
    await page.getByRole("link", { name: "View this flow and surrounding flows" }).click();
    await expect(page.getByRole("heading", { name: "Surrounding flows", exact: true })).toBeVisible();
    // Five flows before it (there are hundreds), as many after as there are (up to five).
    await expect(page.locator('table.surrounding tr[aria-current="true"]')).toHaveCount(1);
    const rows = await page.locator("table.surrounding tbody tr").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("aria-current")));
    expect(rows.indexOf("true")).toBe(5);
    expect(rows.length).toBeGreaterThanOrEqual(6);
    expect(rows.length).toBeLessThanOrEqual(11);
    const times = await page.locator("table.surrounding td.time-cell").allTextContents();
    expect([...times].sort()).toEqual(times);
    await page.getByRole("link", { name: "Back to Discover" }).click();
    await expect(page.locator(".filter-bar .pill-label")).toHaveText(`srcaddr: ${address}`);

    // Saved, then opened again from the list with everything in place.
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByLabel("Search title").fill("Rejected from one address");
    await page.getByRole("button", { name: "Save search" }).click();
    await expect(page.locator("p.message")).toContainText("Saved");
    await expect(page).toHaveURL(/search=/);
    await page.goto("/discover/searches");
    await page.getByRole("link", { name: "Rejected from one address" }).click();
    await waitForHydration(page);
    await expect(page.locator("h1.title")).toHaveText("Rejected from one address");
    await expect(page.locator(".filter-bar .pill-label")).toHaveText(`srcaddr: ${address}`);
    await expect(page.getByLabel("Query", { exact: true })).toHaveValue("action:REJECT");
    await expect(page.locator("table.flow-table thead th[data-column]")).toHaveText([/srcaddr/, /dstport/]);
    // Exported with its index pattern, as NDJSON that imports back.
    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "Export" }).click();
    const exported = fs.readFileSync((await (await download).path())!, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(exported.map((o) => o.type).sort()).toEqual(["index-pattern", "search"]);
    expect(exported.find((o) => o.type === "search").attributes.title).toBe("Rejected from one address");

    // On a dashboard: the search's flow table, following the dashboard; a value filters it.
    const searchUrl = page.url();
    await page.goto("/dashboards");
    await waitForHydration(page);
    await page.getByLabel("New dashboard title").fill("Rejects from one address");
    await page.getByRole("button", { name: "Create dashboard" }).click();
    await expect(page).toHaveURL(/\/dashboards\/[^/]+$/);
    await waitForHydration(page);
    await page.getByRole("button", { name: "Edit" }).click();
    await page.locator('.add-panel select[name="visualization"]').selectOption({ label: "Saved search: Rejected from one address" });
    await page.getByRole("button", { name: "Add panel" }).click();
    const flows = panel(page, "Rejected from one address");
    await expect(flows.locator("thead th")).toHaveText(["Time", "srcaddr", "dstport"]);
    await expect.poll(async () => new Set(await flows.locator('td[data-column="srcaddr"]').allTextContents())).toEqual(new Set([address]));
    const port = (await flows.locator('td[data-column="dstport"]').first().textContent())!;
    await flows.getByRole("button", { name: `Filter for dstport: ${port}` }).first().click();
    await expect(page.locator(".filter-bar .pill-label")).toHaveText(`dstport: ${port}`);
    await expect.poll(async () => new Set(await flows.locator('td[data-column="dstport"]').allTextContents())).toEqual(new Set([port]));
    await page.goto(searchUrl);
    await waitForHydration(page);

    // The CSV of the same search: the columns, every matching row.
    const href = await page.getByRole("link", { name: "CSV" }).getAttribute("href");
    const csv = await page.request.get(href!);
    expect(csv.ok()).toBeTruthy();
    expect(csv.headers()["content-type"]).toContain("text/csv");
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines[0]).toBe("@timestamp,srcaddr,dstport");
    const shown = Number((await page.locator(".hit-count").textContent())!.replace(/[^0-9]/g, ""));
    expect(lines.length - 1).toBe(shown);
    expect(lines.slice(1).every((l) => l.split(",")[1] === address)).toBe(true);
  });

  test("drill-down: the flows behind the overview's REJECT slice", async ({ page }) => {
    await page.goto("/?from=now-15m&to=now");
    await waitForHydration(page);
    const pie = panel(page, "Accepted vs rejected");
    await expect.poll(() => legend(pie)).toContain("REJECT");
    await clickColour(page, pie.locator("canvas.chart"), REJECT_RED);
    await expect(page.locator(".filter-bar .pill-label")).toHaveText("action: REJECT");
    await pie.getByRole("button", { name: "View flows" }).click();
    await expect(page).toHaveURL(/\/discover\?index=cwl-%2A/);
    await expect(page.locator(".filter-bar .pill-label")).toHaveText("action: REJECT");
    const rejected = await countRejected(page);
    await expect(page.locator(".hit-count")).toHaveText(`${rejected.toLocaleString("en-US")} flows`);
    const summaries = await page.locator("tr.flow-row td.summary").allTextContents();
    expect(summaries.length).toBeGreaterThan(0);
    expect(summaries.every((s) => s.includes("action: REJECT"))).toBe(true);
  });

  test("drill-down: a data table row's flows, and a cell that filters", async ({ page }) => {
    // Fixed bounds: the row's count and Discover's are read a moment apart, and a flow at the
    // edge of "the last 15 minutes" may leave it between the two.
    const to = new Date();
    const from = new Date(to.getTime() - 15 * 60_000);
    await page.goto(`/?from=${from.toISOString()}&to=${to.toISOString()}`);
    await waitForHydration(page);
    const table = panel(page, "Top rejected sources");
    const firstRow = table.locator("table.data-table tbody tr").first();
    await expect(firstRow).toBeVisible();
    const source = (await firstRow.locator("td").nth(0).innerText()).trim();
    const count = Number((await firstRow.locator("td").nth(1).innerText()).replace(/,/g, ""));
    expect(source).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    // The row's flows: the panel's own REJECT filter and the row's address, nothing more.
    await firstRow.getByRole("button", { name: "View flows of this row" }).click();
    await expect(page).toHaveURL(/\/discover\?index=cwl-%2A/);
    await expect(page.locator(".filter-bar .pill-label")).toHaveText(["action: REJECT", `srcaddr: ${source}`]);
    await expect(page.locator(".hit-count")).toHaveText(`${count.toLocaleString("en-US")} flow${count === 1 ? "" : "s"}`);
    const summaries = await page.locator("tr.flow-row td.summary").allTextContents();
    expect(summaries.length).toBe(Math.min(count, 50));
    expect(summaries.every((s) => s.includes(`srcaddr: ${source}`) && s.includes("action: REJECT"))).toBe(true);

    // Back on the dashboard, a click on the address cell filters the dashboard by it.
    await page.goBack();
    await waitForHydration(page);
    await panel(page, "Top rejected sources").getByRole("button", { name: `Filter for ${source}` }).first().click();
    await expect(page.locator(".filter-bar .pill-label")).toHaveText(`srcaddr: ${source}`);
  });
});
