import { test, expect } from "@playwright/test";
import { ingest, recentFlowLines, waitForHydration } from "./helpers";

// Issue 19, build 6: field formats per index pattern. Bytes read as bytes (decimal units) by
// default; an address can link out through a URL template; an invalid template is refused,
// naming the field. The formats apply in Discover, and in the pattern's charts and tables.

test.describe("field formats", () => {
  test.beforeAll(async ({ request }) => {
    const report = await ingest(request, recentFlowLines(10, 4));
    expect(report.rejected).toBe(0);
  });

  test("bytes in units, and an address that links out through its pattern's template", async ({ page }) => {
    // Its own pattern, over the same indices, so that the other tests keep cwl-*'s formats.
    await page.goto("/management/index-patterns");
    await waitForHydration(page);
    await page.getByLabel("Index pattern", { exact: true }).fill("cwl-20*");
    await expect(page.locator("p.pattern-check")).toHaveText(/^\d+ fields$/);
    await page.getByRole("button", { name: "Create index pattern" }).click();
    await expect(page.locator("p.message")).toContainText("Created cwl-20* with");

    await page.getByRole("button", { name: "Field formats of cwl-20*" }).click();
    const form = page.getByRole("form", { name: "Field formats of cwl-20*" });
    // Bytes are bytes unless chosen otherwise; the default says so.
    await expect(form.getByLabel("Format of bytes")).toHaveValue("");
    await expect(form.getByLabel("Format of bytes").locator("option").first()).toHaveText("Default (bytes)");
    await form.getByLabel("Format of srcaddr").selectOption("url");
    const template = form.getByLabel("Link template of srcaddr");
    await template.fill("javascript:alert({{value}})");
    await template.press("Tab");
    await form.getByRole("button", { name: "Save formats" }).click();
    await expect(form.getByRole("alert")).toContainText("field_formats.srcaddr.template");
    await template.fill("https://whois.example/?q={{value}}");
    await template.press("Tab");
    await form.getByLabel("Link text of srcaddr").fill("{{value}} (whois)");
    await form.getByLabel("Link text of srcaddr").press("Tab");
    await form.getByRole("button", { name: "Save formats" }).click();
    await expect(page.locator("p.message")).toContainText("Saved the field formats of cwl-20*");

    // Reopened, the choice is there.
    await page.getByRole("button", { name: "Field formats of cwl-20*" }).click();
    await expect(form.getByLabel("Format of srcaddr")).toHaveValue("url");
    await expect(form.getByLabel("Link template of srcaddr")).toHaveValue("https://whois.example/?q={{value}}");

    // Discover on the pattern: the address is a link with its text, the bytes in units.
    await page.goto("/discover?index=cwl-20*&from=now-15m&to=now&columns=srcaddr,bytes");
    await waitForHydration(page);
    const address = page.locator('tr.flow-row td[data-column="srcaddr"] a').first();
    await expect(address).toHaveText(/^\d+\.\d+\.\d+\.\d+ \(whois\)$/);
    const text = (await address.textContent())!.replace(" (whois)", "");
    await expect(address).toHaveAttribute("href", `https://whois.example/?q=${text}`);
    await expect(address).toHaveAttribute("rel", "noopener noreferrer");
    await expect(page.locator('tr.flow-row td[data-column="bytes"]').first()).toHaveText(/^\d+(\.\d+)? (B|kB|MB|GB)$/);

    // cwl-* was left as it was: its addresses are plain text.
    await page.goto("/discover?index=cwl-*&from=now-15m&to=now&columns=srcaddr");
    await waitForHydration(page);
    await expect(page.locator('tr.flow-row td[data-column="srcaddr"]').first()).toHaveText(/^\d+\.\d+\.\d+\.\d+$/);
    await expect(page.locator('tr.flow-row td[data-column="srcaddr"] a')).toHaveCount(0);

    // A data table on the pattern: the sum of bytes in units, the address linking out (the
    // other tests' flows are there too: any address).
    await page.goto("/visualize/new");
    await waitForHydration(page);
    await page.locator('select[name="kind"]').selectOption("Table");
    await page.locator('select[name="index_pattern"]').selectOption("cwl-20*");
    await page.getByRole("group", { name: "Metric", exact: true }).locator('select[name="metric"]').selectOption("sum");
    await page.getByRole("button", { name: "+ Add bucket" }).click();
    await page.locator('select[name="bucket0_field"]').selectOption("srcaddr");
    const table = page.locator("section.preview table.data-table");
    await expect(table.locator("tbody tr").first()).toBeVisible();
    await expect(table.locator("tbody tr td").nth(1)).toHaveText(/^\d+(\.\d+)? (kB|MB|GB)$/);
    await expect(table.locator("tbody tr td a.cell-link").first()).toHaveAttribute("href", /^https:\/\/whois\.example\/\?q=\d+\.\d+\.\d+\.\d+$/);
  });
});
