import * as fs from "node:fs";
import { test, expect } from "@playwright/test";
import { ingest, panel, recentFlowLines, waitForHydration } from "./helpers";

// Issue 19, "Inspect on every panel": the data as a table with a CSV download, and the
// request and response, as Kibana's Inspect shows them.

test.describe("inspect", () => {
  test.beforeAll(async ({ request }) => {
    const report = await ingest(request, recentFlowLines(10, 30));
    expect(report.rejected).toBe(0);
  });

  test("a panel's data as a table and as CSV, then its search and answer", async ({ page }) => {
    await page.goto("/?from=now-15m&to=now");
    await waitForHydration(page);
    const pie = panel(page, "Action and destination port");
    await expect(pie.locator('canvas.chart[data-drawn="true"]')).toBeVisible();
    await pie.getByRole("button", { name: "Inspect" }).click();
    const dialog = page.getByRole("dialog", { name: "Inspect Action and destination port" });
    await expect(dialog).toBeVisible();

    // Data: a row per outer slice, with its path from the centre and its count.
    const table = dialog.getByRole("table", { name: "Data" });
    await expect(table.locator("thead th")).toHaveText(["action", "dstport", "Count"]);
    const rows = await table.locator("tbody tr").evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")),
    );
    expect(rows.length).toBeGreaterThan(1);
    for (const [action, port, count] of rows) {
      expect(["ACCEPT", "REJECT"]).toContain(action);
      // A port with its service name where it has one: `443 (https)`.
      expect(port).toMatch(/^(\d+( \([a-z0-9-]+\))?|Other)$/);
      expect(Number(count)).toBeGreaterThan(0);
    }

    // The same rows as CSV.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      dialog.getByRole("button", { name: "Download CSV" }).click(),
    ]);
    expect(download.suggestedFilename()).toBe("Action_and_destination_port.csv");
    const csv = fs.readFileSync((await download.path())!, "utf8");
    expect(csv).toBe(["action,dstport,Count", ...rows.map((r) => r.join(","))].join("\r\n") + "\r\n");

    // Requests: the search as sent, its answer and statistics.
    await dialog.getByRole("tab", { name: "Requests" }).click();
    await expect(dialog.getByLabel("Request", { exact: true })).toContainText('"aggs"');
    await expect(dialog.getByLabel("Request", { exact: true })).toContainText('"@timestamp"');
    await expect(dialog.getByLabel("Response", { exact: true })).toContainText('"aggregations"');
    await expect(dialog.locator("dl.inspect-stats")).toContainText("Hits (total)");
    await expect(dialog.locator("dl.inspect-stats")).toContainText("cwl-*");

    // Escape closes it and gives the focus back to the panel's Inspect button.
    await page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
    await expect(pie.getByRole("button", { name: "Inspect" })).toBeFocused();
  });
});
