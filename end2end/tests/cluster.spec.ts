import { test, expect } from "@playwright/test";
import { clickColour, legend, panel, REJECT_RED, waitForHydration } from "./helpers";

// Issue 18, "both backends": Discover through the Elasticsearch proxy. The cluster is a
// flowdash whose /es answers as Elasticsearch 8 (which refuses sorts on `_id`); in front of it
// runs flowdash in cluster mode, as a user with their own cluster runs it.

const viaCluster = `http://127.0.0.1:${Number(process.env.FLOWDASH_E2E_VIA_CLUSTER_PORT ?? 3110)}`;
const cluster = `http://127.0.0.1:${Number(process.env.FLOWDASH_E2E_CLUSTER_PORT ?? 3109)}`;

/** 180 rejected flows in the last 10 minutes, many starting in the same second (ties that
 * only the tiebreaker orders), and accepted ones besides. */
function lines(): string {
  const now = Math.floor(Date.now() / 1000);
  const out: string[] = [];
  for (let i = 0; i < 180; i++) {
    const start = now - 600 + Math.floor(i / 6) * 10;
    out.push([2, "123456789012", "eni-0c1a5e0c1a5e0c1a5", `203.0.113.${(i % 60) + 1}`, "10.0.5.5",
      52000 + i, [22, 3389, 445][i % 3], 6, 1, 60, start, start + 20, "REJECT", "OK"].join(" "));
    out.push([2, "123456789012", "eni-0c1a5e0c1a5e0c1a5", "10.0.5.5", "198.51.100.7",
      443, 52000 + i, 6, 5, 900, start, start + 20, "ACCEPT", "OK"].join(" "));
  }
  return out.join("\n") + "\n";
}

test.describe("through a cluster", () => {
  test("Discover pages every flow once through Elasticsearch 8, and drills down from the overview", async ({ page, request }) => {
    const health = await (await request.get(`${viaCluster}/api/health`)).json();
    expect(JSON.stringify(health)).toContain("8.11.0");
    const ingested = await request.post(`${viaCluster}/api/ingest`, { data: lines() });
    expect(ingested.ok(), await ingested.text()).toBeTruthy();
    expect((await ingested.json()).accepted).toBe(360);

    await page.goto(`${viaCluster}/discover?index=cwl-*&from=now-15m&to=now&q=action%3AREJECT`);
    await waitForHydration(page);
    await expect(page.locator(".hit-count")).toHaveText("180 flows");
    await expect(page.locator(".discover-histogram canvas.chart")).toHaveAttribute("data-drawn", "true");
    const seen: string[] = [];
    for (let pageNumber = 1; pageNumber <= 4; pageNumber++) {
      if (pageNumber > 1) {
        await page.getByRole("button", { name: "Next ›" }).click();
        await expect(page.locator(".page-number")).toContainText(`Page ${pageNumber}`);
      }
      const rows = page.locator("tr.flow-row td.summary");
      await expect(rows.first()).toBeVisible();
      seen.push(...await rows.allTextContents());
    }
    // 50 + 50 + 50 + 30: each rejected flow once (their summaries differ by source port).
    expect(seen).toHaveLength(180);
    expect(new Set(seen).size).toBe(180);
    expect(seen.every((s) => s.includes("action: REJECT"))).toBe(true);

    // The overview's REJECT slice, then its flows.
    await page.goto(`${viaCluster}/?from=now-15m&to=now`);
    await waitForHydration(page);
    const pie = panel(page, "Accepted vs rejected");
    await expect.poll(() => legend(pie)).toContain("REJECT");
    await clickColour(page, pie.locator("canvas.chart"), REJECT_RED);
    await expect(page.locator(".filter-bar .pill-label")).toHaveText("action: REJECT");
    await pie.getByRole("button", { name: "View flows" }).click();
    await expect(page).toHaveURL(/\/discover\?/);
    await expect(page.locator(".hit-count")).toHaveText("180 flows");
  });

  test("the overview's Sankey through Elasticsearch 8: networks named on the cluster, drawn, walked and filtered", async ({ page, request }) => {
    // A partner's database clients: 192.0.2.x to 10.0.6.6 on MySQL, in the last 10 minutes.
    const now = Math.floor(Date.now() / 1000);
    const flows = Array.from({ length: 40 }, (_, i) => [2, "123456789012", "eni-0c1a5e0c1a5e0c1a6",
      `192.0.2.${(i % 8) + 1}`, "10.0.6.6", 41000 + i, 3306, 6, 4, 400, now - 600 + i * 10, now - 590 + i * 10,
      "ACCEPT", "OK"].join(" ")).join("\n") + "\n";
    const ingested = await request.post(`${viaCluster}/api/ingest`, { data: flows });
    expect(ingested.ok(), await ingested.text()).toBeTruthy();
    // Saved objects live on the cluster, as the networks do.
    const named = await request.post(`${viaCluster}/api/saved_objects/networks/networks?overwrite=true`, {
      data: { attributes: { title: "Networks", text: "192.0.2.0/24 = e2e-partner\n10.0.6.0/24 = e2e-db\n0.0.0.0/0 = internet\n" } },
    });
    expect(named.ok(), await named.text()).toBeTruthy();

    // The server draws it through the cluster, each column named.
    const svg = await (await request.get(`${viaCluster}/api/visualizations/overview-who-talks/render.svg?from=now-15m&to=now&width=900&height=400`)).text();
    for (const label of ["e2e-partner", "e2e-db", "3306 (mysql)"]) expect(svg).toContain(label);

    // In the browser: drawn, walked with the keyboard, and a node filters the dashboard.
    await page.goto(`${viaCluster}/?from=now-15m&to=now&q=dstport%3A3306`);
    await waitForHydration(page);
    const sankey = panel(page, "Who talks to whom").locator('canvas.chart[data-drawn="true"]');
    await expect(sankey).toBeVisible();
    await sankey.focus();
    await page.keyboard.press("ArrowRight");
    await expect(panel(page, "Who talks to whom").locator(".tooltip-title")).toHaveText("e2e-partner");
    await page.keyboard.press("Enter");
    await expect(page.locator(".filter-bar .pill-label")).toHaveText("srcaddr: 192.0.2.0/24");
  });

  // Issue 20, item 5: this server has GeoIP and ASN databases; the cluster cannot search what
  // it adds to hits as they are answered, so Discover shows those fields with no filter actions.
  test("Discover shows a cluster's flows with their country and AS, offering no filter that would find nothing", async ({ page, request }) => {
    const now = Math.floor(Date.now() / 1000);
    // 89.160.20.200 is SE and AS29518 Bredband2 AB in MaxMind's test databases.
    const flows = [2, "123456789012", "eni-0c1a5e0c1a5e0c1a5", "89.160.20.200", "10.0.5.6", 51515, 8443, 6, 2, 120,
      now - 120, now - 60, "REJECT", "OK"].join(" ") + "\n";
    // Stored by the cluster itself, without them (flowdash in front would store them).
    const ingested = await request.post(`${cluster}/api/ingest`, { data: flows });
    expect(ingested.ok(), await ingested.text()).toBeTruthy();

    await page.goto(`${viaCluster}/discover?index=cwl-*&from=now-15m&to=now&q=dstport%3A8443`);
    await waitForHydration(page);
    await expect(page.locator(".hit-count")).toHaveText("1 flow");
    await page.getByRole("button", { name: "Expand flow" }).click();
    const detail = page.getByRole("table", { name: "Flow fields" });
    const country = detail.locator('tr[data-field="src_country"]');
    await expect(country.locator("td.field-value")).toHaveText("SE");
    await expect(detail.locator('tr[data-field="src_as_org"] td.field-value')).toHaveText("Bredband2 AB");
    // A column of it, yes; a filter on it, no. A field the cluster holds keeps its filters.
    await expect(country.getByRole("button", { name: "Toggle column src_country" })).toBeVisible();
    await expect(country.getByRole("button", { name: /^Filter/ })).toHaveCount(0);
    await expect(detail.locator('tr[data-field="srcaddr"]').getByRole("button", { name: /^Filter/ })).toHaveCount(3);

    // The sidebar's top values likewise.
    await page.locator('li.field[data-field="src_country"] button.field-name').click();
    const values = page.locator('li.field[data-field="src_country"] .field-details');
    await expect(values.locator(".value-text")).toHaveText(["SE"]);
    await expect(values.getByRole("button", { name: /^Filter/ })).toHaveCount(0);

    // A split by the address says what is known of it: in a data table's cell here.
    await page.goto(`${viaCluster}/visualize/new?index=cwl-*&field=srcaddr`);
    await waitForHydration(page);
    await page.locator('select[name="kind"]').selectOption("Table");
    await page.locator("button.time-button").click();
    await page.getByRole("button", { name: "Last 1 hour" }).click();
    const query = page.getByRole("combobox", { name: "Query", exact: true });
    await query.fill("dstport:8443");
    await page.getByRole("button", { name: "Update" }).click();
    const rows = page.locator("section.preview table.data-table tbody tr");
    await expect(rows).toHaveCount(1);
    await expect(rows.first().locator("td").first()).toHaveText("89.160.20.200 (SE · AS29518 Bredband2 AB)");
  });
});
