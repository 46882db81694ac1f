import { test, expect } from "@playwright/test";
import { allDrawn, ingest, recentFlowLines, waitForHydration } from "./helpers";

// Issue 19, build 7: the query bar suggests field names, then a field's values in the time
// range shown (asked of the engine), and recent queries; all by keyboard or mouse.

test.describe("query bar suggestions", () => {
  test.beforeAll(async ({ request }) => {
    const report = await ingest(request, recentFlowLines(20, 6));
    expect(report.rejected).toBe(0);
  });

  test("a field, then one of its values, by keyboard; the query runs; it is offered again later", async ({ page }) => {
    await page.goto("/?from=now-1h&to=now");
    await waitForHydration(page);
    await allDrawn(page);
    const input = page.getByRole("combobox", { name: "Query", exact: true });
    const list = page.getByRole("listbox", { name: "Suggestions" });
    await input.click();
    await input.pressSequentially("dstp");
    await expect(list.getByRole("option")).toHaveText(["fielddstport"]);
    await page.keyboard.press("ArrowDown");
    await expect(list.getByRole("option").first()).toHaveAttribute("aria-selected", "true");
    await page.keyboard.press("Enter");
    await expect(input).toHaveValue("dstport:");
    // The values come from the flows in the range: 22, 443, 3389 and 445 are in this test's
    // data (other tests add more ports).
    await expect.poll(async () => await list.getByRole("option").allTextContents())
      .toEqual(expect.arrayContaining(["value22", "value3389", "value443", "value445"]));
    await input.pressSequentially("338");
    await expect(list.getByRole("option")).toHaveText(["value3389"]);
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Tab");
    await expect(input).toHaveValue("dstport:3389 ");
    await input.pressSequentially("and act");
    await expect(list.getByRole("option")).toHaveText(["fieldaction"]);
    // Escape closes the list and keeps the text; typing opens it again.
    await page.keyboard.press("Escape");
    await expect(list).toHaveCount(0);
    await expect(input).toHaveValue("dstport:3389 and act");
    await input.pressSequentially("i");
    await list.getByRole("option", { name: /action/ }).click();
    await expect(input).toHaveValue("dstport:3389 and action:");
    // A field's values in the range, whatever the query so far says.
    await expect.poll(async () => (await list.getByRole("option").allTextContents()).sort())
      .toEqual(expect.arrayContaining(["valueACCEPT", "valueREJECT"]));
    await list.getByRole("option", { name: /REJECT/ }).click();
    await expect(input).toHaveValue("dstport:3389 and action:REJECT ");
    await expect(list).toHaveCount(0);
    await page.keyboard.press("Enter");
    await expect(page).toHaveURL(/q=dstport%3A3389/);
    await allDrawn(page);

    // Later, on another page, an empty bar offers it among recent queries.
    await page.goto("/discover");
    await waitForHydration(page);
    const again = page.getByRole("combobox", { name: "Query", exact: true });
    await again.click();
    await expect(list.getByRole("option").first()).toHaveText("recentdstport:3389 and action:REJECT");
    await list.getByRole("option").first().click();
    await expect(page).toHaveURL(/q=dstport%3A3389/);
  });
});
