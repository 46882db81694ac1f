import { test, expect } from "@playwright/test";
import { clickColour, legend, panel, REJECT_RED, waitForHydration } from "./helpers";

// Issue 18, "both backends": Discover through the Elasticsearch proxy. The cluster is a
// flowdash whose /es answers as Elasticsearch 8 (which refuses sorts on `_id`); in front of it
// runs flowdash in cluster mode, as a user with their own cluster runs it.

const viaCluster = `http://127.0.0.1:${Number(process.env.FLOWDASH_E2E_VIA_CLUSTER_PORT ?? 3110)}`;

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
});
