import { test, expect, Page } from "@playwright/test";
import { allDrawn, ingest, legend, newDashboard, panel, recentFlowLines, waitForHydration } from "./helpers";

// Issue 19, build 4: input controls. A controls panel holds dropdowns of a field's values and
// from–to ranges; choosing sets the dashboard's filters, which the filter bar shows, links
// carry and the controls read back.


const pills = (page: Page) => page.locator(".filter-bar .pill-label");

test.describe("input controls", () => {
  test.beforeAll(async ({ request }) => {
    const report = await ingest(request, recentFlowLines(30, 6));
    expect(report.rejected).toBe(0);
  });

  test("a list and a range set the dashboard's filters, are saved, and read back from a link", async ({ page }) => {
    const path = await newDashboard(page, "Controls board");
    await page.locator('.add-panel input[name="find-visualization"]').fill("Accepted vs rejected");
    await page.locator('.add-panel select[name="visualization"]').selectOption({ label: "Accepted vs rejected" });
    await page.getByRole("button", { name: "Add panel" }).click();
    await page.getByRole("button", { name: "Add controls" }).click();
    const controls = panel(page, "Controls");
    await expect(controls).toHaveCount(1);

    // Configure: the first control lists actions; a second is a range of ports.
    await controls.getByRole("button", { name: "Panel settings" }).click();
    const editor = controls.locator(".controls-editor");
    const first = editor.locator("fieldset").nth(0);
    await first.locator('select[name="control-field"]').selectOption("action");
    await first.locator('input[name="control-label"]').pressSequentially("Action");
    await expect(first.locator('input[name="control-label"]')).toHaveValue("Action");
    await editor.getByRole("button", { name: "Add control" }).click();
    const second = editor.locator("fieldset").nth(1);
    await second.locator('select[name="control-type"]').selectOption("range");
    // A range offers numbers only.
    await expect(second.locator('select[name="control-field"] option[value="action"]')).toHaveCount(0);
    await second.locator('select[name="control-field"]').selectOption("dstport");
    await second.locator('input[name="control-label"]').fill("Port");
    await controls.getByRole("button", { name: "Done" }).click();
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.locator(".unsaved")).toHaveCount(0);

    // The list offers the view's actions with their flows.
    const action = controls.getByRole("group", { name: "Action", exact: true });
    const toggle = action.locator("button.control-toggle");
    await expect(toggle).toHaveText(/Any/);
    await toggle.click();
    const values = action.getByRole("group", { name: "Action values" });
    await expect(values.locator(".control-value")).toHaveText(["ACCEPT", "REJECT"]);
    await values.getByLabel(/REJECT/).check();
    await expect(pills(page)).toHaveText(["action: REJECT"]);
    await expect(toggle).toHaveText(/REJECT/);
    // The control searches without its own filter: ACCEPT is still offered.
    await expect(values.locator(".control-value")).toHaveText(["ACCEPT", "REJECT"]);
    // The charts follow the filter.
    const pie = panel(page, "Accepted vs rejected");
    await expect.poll(() => legend(pie)).toEqual(["REJECT"]);
    // Escape closes the list and gives the focus back to its button.
    await page.keyboard.press("Escape");
    await expect(values).toHaveCount(0);
    await expect(toggle).toBeFocused();

    // The range: both ends included; a bad number is said, not sent.
    const port = controls.getByRole("group", { name: "Port", exact: true });
    await port.getByLabel("From").fill("abc");
    await port.getByLabel("To").fill("445");
    await port.getByRole("button", { name: "Apply" }).click();
    await expect(port.getByRole("alert")).toHaveText("From: `abc` is not a number");
    await expect(pills(page)).toHaveCount(1);
    await port.getByLabel("From").fill("22");
    await port.getByLabel("To").press("Enter");
    await expect(pills(page)).toHaveText(["action: REJECT", "dstport: 22 (ssh) through 445 (smb)"]);

    // A link carries the choices, and the controls read them back.
    const link = page.url();
    expect(link).toContain("filters=");
    const fresh = await page.context().newPage();
    await fresh.goto(link);
    await waitForHydration(fresh);
    const again = panel(fresh, "Controls");
    await expect(again.getByRole("group", { name: "Action", exact: true }).locator("button.control-toggle")).toHaveText(/REJECT/);
    await expect(again.getByRole("group", { name: "Port", exact: true }).getByLabel("From")).toHaveValue("22");
    await expect(again.getByRole("group", { name: "Port", exact: true }).getByLabel("To")).toHaveValue("445");
    await fresh.close();

    // Clearing removes the control's filter and leaves the other.
    await port.getByRole("button", { name: "Clear" }).click();
    await expect(pills(page)).toHaveText(["action: REJECT"]);
    await expect(port.getByLabel("From")).toHaveValue("");

    // The saved dashboard has its controls, and no filters.
    await page.goto(path);
    await waitForHydration(page);
    await allDrawn(page);
    await expect(pills(page)).toHaveCount(0);
    await expect(panel(page, "Controls").getByRole("group", { name: "Action", exact: true })).toHaveCount(1);
    await expect(panel(page, "Controls").getByRole("group", { name: "Port", exact: true })).toHaveCount(1);

    // Saved with a choice, the dashboard holds it among its own filters; the control then
    // changes that filter rather than adding a second one.
    const saved = panel(page, "Controls").getByRole("group", { name: "Action", exact: true });
    await saved.locator("button.control-toggle").click();
    await saved.getByLabel(/REJECT/).check();
    await expect(pills(page)).toHaveText(["action: REJECT"]);
    await page.getByRole("button", { name: "Edit" }).click();
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.locator(".unsaved")).toHaveCount(0);
    await page.goto(path);
    await waitForHydration(page);
    await expect(pills(page)).toHaveText(["action: REJECT"]);
    const reopened = panel(page, "Controls").getByRole("group", { name: "Action", exact: true });
    await reopened.locator("button.control-toggle").click();
    // A press on a value's text chooses it too (the list keeps the focus, and stays open).
    await reopened.locator(".control-value", { hasText: "ACCEPT" }).click();
    await expect(pills(page)).toHaveText(["action: REJECT, ACCEPT"]);
    await expect(reopened.getByRole("group", { name: "Action values" })).toBeVisible();
  });
});
