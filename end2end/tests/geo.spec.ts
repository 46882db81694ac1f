import { test, expect, Page } from "@playwright/test";
import { panel, waitForHydration } from "./helpers";

// Issue 20, item 5: a server given GeoIP and ASN databases (MaxMind's test ones, see
// playwright.config.ts) adds country and AS to the flows it ingests; the overview shows
// rejected traffic by both, and Discover shows and filters by them.

const geo = `http://127.0.0.1:${Number(process.env.FLOWDASH_E2E_GEO_PORT ?? 3111)}`;

// What the test databases hold for these addresses (their source JSON): 81.2.69.160 is GB
// with no AS; 89.160.20.200 is SE and AS29518 Bredband2 AB; 1.128.0.1 is AS1221 Telstra with
// no country. 10.0.0.5 is in neither.
const SENDERS: [string, string, number][] = [
  ["81.2.69.160", "REJECT", 6],
  ["89.160.20.200", "REJECT", 3],
  ["89.160.20.200", "ACCEPT", 5],
  ["1.128.0.1", "REJECT", 4],
  ["10.0.0.5", "REJECT", 2],
];

function lines(): string {
  const now = Math.floor(Date.now() / 1000);
  const out: string[] = [];
  let i = 0;
  for (const [address, action, count] of SENDERS) {
    for (let n = 0; n < count; n++, i++) {
      const start = now - 540 + i * 10;
      out.push([2, "123456789012", "eni-0ce0ce0ce0ce0ce0c", address, "10.0.9.9", 50000 + i, 22, 6, 3,
        180, start, start + 30, action, "OK"].join(" "));
    }
  }
  return out.join("\n") + "\n";
}

/** The rows of a panel's Inspect data table. */
async function inspectRows(page: Page, title: string): Promise<string[][]> {
  const chart = panel(page, title);
  await expect(chart.locator('canvas.chart[data-drawn="true"]')).toBeVisible();
  await chart.getByRole("button", { name: "Inspect" }).click();
  const table = page.getByRole("dialog", { name: `Inspect ${title}` }).getByRole("table", { name: "Data" });
  await expect(table.locator("tbody tr").first()).toBeVisible();
  const rows = await table.locator("tbody tr").evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")),
  );
  await page.keyboard.press("Escape");
  return rows;
}

test.describe("GeoIP and ASN", () => {
  test.beforeAll(async ({ request }) => {
    const response = await request.post(`${geo}/api/ingest`, { data: lines() });
    expect(response.ok()).toBeTruthy();
    expect((await response.json()).accepted).toBe(20);
  });

  test("the overview shows rejected flows by source country and AS", async ({ page }) => {
    await page.goto(`${geo}/?from=now-15m&to=now`);
    await waitForHydration(page);
    expect(await inspectRows(page, "Rejected flows by source country")).toEqual([["GB", "6"], ["SE", "3"]]);
    expect(await inspectRows(page, "Rejected flows by source AS"))
      .toEqual([["Telstra Pty Ltd", "4"], ["Bredband2 AB", "3"]]);
    await panel(page, "Rejected flows by source AS").scrollIntoViewIfNeeded();
    await page.screenshot({ path: "artifacts/geo-overview.png", fullPage: true });
  });

  test("Discover shows the fields and the query bar filters by them", async ({ page }) => {
    await page.goto(`${geo}/discover?index=cwl-*&from=now-15m&to=now&columns=srcaddr%2Csrc_country%2Csrc_asn%2Csrc_as_org`);
    await waitForHydration(page);
    await page.getByLabel("Query", { exact: true }).fill("src_country:SE");
    await page.getByRole("button", { name: "Update" }).click();
    await expect(page.locator(".hit-count")).toHaveText("8 flows");
    const cells = (column: string) => page.locator(`table.flow-table tr.flow-row td[data-column="${column}"]`);
    await expect.poll(async () => new Set(await cells("src_country").allTextContents())).toEqual(new Set(["SE"]));
    await expect.poll(async () => new Set(await cells("src_as_org").allTextContents())).toEqual(new Set(["Bredband2 AB"]));
    await expect.poll(async () => new Set(await cells("src_asn").allTextContents())).toEqual(new Set(["29518"]));

    // Flows the databases know nothing of lack the fields.
    await page.getByLabel("Query", { exact: true }).fill("not src_country:* and not src_asn:*");
    await page.getByRole("button", { name: "Update" }).click();
    await expect(page.locator(".hit-count")).toHaveText("2 flows");
  });
});
