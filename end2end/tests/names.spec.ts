import { test, expect, Page } from "@playwright/test";
import { ingest, waitForHydration } from "./helpers";

// Issue 20, item 1: ports and protocols by name, shown and typed.

/** Flows from 192.0.2.x in the last 10 minutes: RDP and SSH over TCP, DNS over UDP. */
function namedLines(): string {
  const now = Math.floor(Date.now() / 1000);
  const lines: string[] = [];
  for (let i = 0; i < 60; i++) {
    const start = now - 600 + i * 8;
    const [port, protocol] = [[3389, 6], [22, 6], [53, 17]][i % 3];
    lines.push([2, "123456789012", "eni-0a11a11a11a11a11a", `192.0.2.${(i % 20) + 1}`, "10.0.7.7",
      51000 + i, port, protocol, 2, 120 + i, start, start + 20, "REJECT", "OK"].join(" "));
  }
  return lines.join("\n") + "\n";
}

async function search(page: Page, query: string) {
  await page.getByLabel("Query", { exact: true }).fill(query);
  await page.getByRole("button", { name: "Update" }).click();
}

test.describe("names", () => {
  test.beforeAll(async ({ request }) => {
    const report = await ingest(request, namedLines());
    expect(report.rejected).toBe(0);
  });

  test("dstport:rdp finds the flows dstport:3389 finds, and cells name ports and protocols", async ({ page }) => {
    await page.goto("/discover?index=cwl-*&from=now-15m&to=now&columns=srcaddr%2Cdstport%2Cprotocol");
    await waitForHydration(page);
    const count = page.locator(".hit-count");

    await search(page, "srcaddr:\"192.0.2.0/24\" and dstport:3389");
    await expect(page).toHaveURL(/q=srcaddr/);
    await expect(count).toHaveText(/^[\d,]+ flows$/);
    const byNumber = await count.textContent();
    expect(parseInt(byNumber!.replace(/,/g, ""), 10)).toBeGreaterThanOrEqual(20);

    await search(page, "srcaddr:\"192.0.2.0/24\" and dstport:rdp and protocol:tcp");
    await expect(page).toHaveURL(/dstport%3Ardp/);
    await expect(count).toHaveText(byNumber!);
    const cells = page.locator('table.flow-table tr.flow-row td[data-column="dstport"]');
    await expect.poll(async () => new Set(await cells.allTextContents())).toEqual(new Set(["3389 (rdp)"]));
    await expect.poll(async () => new Set(await page.locator('td[data-column="protocol"]').allTextContents()))
      .toEqual(new Set(["6 (tcp)"]));

    // Several names, and a protocol by name.
    await search(page, "srcaddr:\"192.0.2.0/24\" and dstport:(ssh or dns) and not protocol:udp");
    await expect.poll(async () => new Set(await cells.allTextContents())).toEqual(new Set(["22 (ssh)"]));

    // A name that is no service says so, and where.
    await search(page, "dstport:sshh");
    await expect(page.getByRole("alert").filter({ hasText: "unknown service name `sshh` for dstport" })).toBeVisible();
  });
});
