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

  test("Add filter: a suggested field, an operator, values suggested from the flows; bad values are named", async ({ page }) => {
    await page.goto("/?from=now-1h&to=now");
    await waitForHydration(page);
    await allDrawn(page);
    await page.getByRole("button", { name: "+ Add filter" }).click();
    const form = page.locator("form.add-filter");
    // Fields come from the index pattern; values from the field's flows in the range.
    await expect.poll(async () => await page.locator("#add-filter-fields option").evaluateAll((o) => o.map((e) => (e as HTMLOptionElement).value)))
      .toEqual(expect.arrayContaining(["dstport", "action", "srcaddr"]));
    await page.getByLabel("Filter field").fill("dstport");
    await expect.poll(async () => await page.locator("#add-filter-values option").evaluateAll((o) => o.map((e) => (e as HTMLOptionElement).value)))
      .toEqual(expect.arrayContaining(["22", "3389"]));
    await page.getByLabel("Operator").selectOption("is one of");
    await page.getByLabel("Filter value").fill("22, sshh");
    await form.getByRole("button", { name: "Add" }).click();
    await expect(form.getByRole("alert")).toHaveText("values: unknown service name `sshh` for dstport");
    // Services by name, as people call them: rdp is IANA's ms-wbt-server.
    await page.getByLabel("Filter value").fill("ssh, rdp");
    await form.getByRole("button", { name: "Add" }).click();
    await expect(page.locator(".filter-bar .pill-label")).toHaveText(["dstport: 22 (ssh), 3389 (rdp)"]);
    await expect(page).toHaveURL(/filters=/);

    // A pill opens again in the form as it was made; saving changes it in place.
    await page.getByRole("button", { name: "Change filter dstport: 22 (ssh), 3389 (rdp)" }).click();
    await expect(page.getByLabel("Filter field")).toHaveValue("dstport");
    await expect(page.getByLabel("Operator")).toHaveValue("is one of");
    await expect(page.getByLabel("Filter value")).toHaveValue("22, 3389");
    await page.getByLabel("Operator").selectOption("is");
    await page.getByLabel("Filter value").fill("3389");
    await form.getByRole("button", { name: "Save filter" }).click();
    await expect(page.locator(".filter-bar .pill-label")).toHaveText(["dstport: 3389 (rdp)"]);
    await page.getByRole("button", { name: "Change filter dstport: 3389 (rdp)" }).click();
    await page.getByLabel("Operator").selectOption("is one of");
    await page.getByLabel("Filter value").fill("22, 3389");
    await form.getByRole("button", { name: "Save filter" }).click();
    await expect(page.locator(".filter-bar .pill-label")).toHaveText(["dstport: 22 (ssh), 3389 (rdp)"]);

    // Between, negated: two bounds, either may stay open.
    await page.getByRole("button", { name: "+ Add filter" }).click();
    await page.getByLabel("Filter field").fill("bytes");
    await page.getByLabel("Operator").selectOption("is not between");
    await page.getByLabel("Filter from").fill("100000");
    // The panels' one search carries both filters, the second negated.
    const searched = page.waitForRequest((r) => r.url().includes("/api/msearch") && (r.postData() ?? "").includes('"gte":100000'));
    await form.getByRole("button", { name: "Add" }).click();
    const body = (await searched).postData()!;
    expect(body).toContain('"must_not"');
    expect(body).toContain('{"match_phrase":{"dstport":3389}}');
    await expect(page.locator(".filter-bar .pill-label")).toHaveText(["dstport: 22 (ssh), 3389 (rdp)", "NOT bytes: 100000 to +∞"]);

    // Exists takes no value; Escape closes the form.
    await page.getByRole("button", { name: "+ Add filter" }).click();
    await page.getByLabel("Filter field").fill("action");
    await page.getByLabel("Operator").selectOption("exists");
    await expect(page.getByLabel("Filter value")).toHaveCount(0);
    await page.keyboard.press("Escape");
    await expect(form).toHaveCount(0);
    await expect(page.locator(".filter-bar .pill")).toHaveCount(2);
    await allDrawn(page);
    await expect(page.locator(".chart-error")).toHaveCount(0);
  });

  test("a saved query: saved on a dashboard with its filters, loaded in Discover, deleted", async ({ page }) => {
    await page.goto("/?from=now-1h&to=now");
    await waitForHydration(page);
    await allDrawn(page);
    const input = page.getByRole("combobox", { name: "Query", exact: true });
    await input.fill("dstport:22");
    await page.getByRole("button", { name: "Update" }).click();
    await expect(page).toHaveURL(/q=dstport/);
    await page.getByRole("button", { name: "+ Add filter" }).click();
    await page.getByLabel("Filter field").fill("action");
    await page.getByLabel("Filter value").fill("REJECT");
    await page.locator("form.add-filter").getByRole("button", { name: "Add" }).click();
    await expect(page.locator(".filter-bar .pill-label")).toHaveText(["action: REJECT"]);

    await page.getByRole("button", { name: "Saved queries" }).click();
    const menu = page.getByRole("group", { name: "Saved queries" });
    await menu.getByLabel("Saved query title").fill("E2E SSH rejects");
    await menu.getByRole("button", { name: "Save current query" }).click();
    await expect(menu.getByRole("status")).toHaveText("Saved “E2E SSH rejects”");
    await expect(menu.getByRole("button", { name: "Load saved query E2E SSH rejects" })).toBeVisible();

    // Another page, nothing asked yet: loading it brings the query and the filter.
    await page.goto("/discover");
    await waitForHydration(page);
    await page.getByRole("button", { name: "Saved queries" }).click();
    await menu.getByLabel("Find a saved query").fill("E2E SSH");
    await menu.getByRole("button", { name: "Load saved query E2E SSH rejects" }).click();
    await expect(menu).toHaveCount(0);
    await expect(page.getByRole("combobox", { name: "Query", exact: true })).toHaveValue("dstport:22");
    await expect(page.locator(".filter-bar .pill-label")).toHaveText(["action: REJECT"]);
    await expect(page).toHaveURL(/dstport/);

    page.once("dialog", (dialog) => dialog.accept());
    await page.getByRole("button", { name: "Saved queries" }).click();
    await menu.getByRole("button", { name: "Delete saved query E2E SSH rejects" }).click();
    await expect(menu.getByRole("button", { name: "Load saved query E2E SSH rejects" })).toHaveCount(0);
  });
});
