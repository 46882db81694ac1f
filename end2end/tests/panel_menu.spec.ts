import { test, expect, Page } from "@playwright/test";
import {
  allDrawn, firstColouredPoint, ingest, legend, newDashboard, panel, recentFlowLines, waitForHydration,
} from "./helpers";

// Issue 19, builds 2 and 3: the panel menu (own title, hidden title, replace), a dashboard's
// title, description and tags, "Save as new" and "Clone", and filtering from a legend.



async function addPanel(page: Page, title: string) {
  // Searched on the server: the first 50 matches are listed, and other tests add many.
  await page.locator('.add-panel input[name="find-visualization"]').fill(title);
  await page.locator('.add-panel select[name="visualization"]').selectOption({ label: title });
  await page.getByRole("button", { name: "Add panel" }).click();
}

test.describe("panel menu and dashboard details", () => {
  test.beforeAll(async ({ request }) => {
    const report = await ingest(request, recentFlowLines(30, 6));
    expect(report.rejected).toBe(0);
  });

  test("a panel gets its own title, hides it, and is replaced; all of it is saved", async ({ page }) => {
    const path = await newDashboard(page, "Panel menu");
    await addPanel(page, "Accepted vs rejected");
    await expect(page.locator("section.grid-panel")).toHaveCount(1);

    // Replace what the panel shows: the same place, another visualization.
    const settings = page.getByRole("button", { name: "Panel settings" });
    await settings.click();
    const form = page.getByRole("group", { name: "Panel settings" });
    await form.locator('input[name="find-visualization"]').fill("Flows over time by action");
    await form.locator('select[name="visualization"]').selectOption({ label: "Flows over time by action" });
    await form.getByRole("button", { name: "Replace" }).click();
    await expect(form).toHaveCount(0);
    await expect(panel(page, "Flows over time by action")).toHaveCount(1);
    await expect(page.locator(".unsaved")).toBeVisible();

    // Its own title, then hidden; Escape closes the settings and gives the focus back.
    await settings.click();
    await expect(form.locator('input[name="panel-title"]')).toHaveAttribute("placeholder", "Flows over time by action");
    // Opened with the cursor in the title; spaces are typed as they come (kept trimmed).
    const titleInput = form.locator('input[name="panel-title"]');
    await expect(titleInput).toBeFocused();
    await page.keyboard.type("Traffic by verdict ");
    await expect(titleInput).toHaveValue("Traffic by verdict ");
    await expect(panel(page, "Traffic by verdict").locator("h2")).toHaveText("Traffic by verdict");
    await form.getByLabel("Hide title").check();
    await page.keyboard.press("Escape");
    await expect(form).toHaveCount(0);
    await expect(settings).toBeFocused();
    // While editing a hidden title shows faintly.
    await expect(panel(page, "Traffic by verdict").locator("h2.hidden-title")).toBeVisible();

    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.locator(".unsaved")).toHaveCount(0);
    await page.goto(path);
    await waitForHydration(page);
    const saved = panel(page, "Traffic by verdict");
    await expect(saved).toHaveCount(1);
    // Hidden for the eye, still named for screen readers; the chart is the replacement.
    await expect(saved.locator("h2")).toHaveClass(/visually-hidden/);
    await expect(saved.locator("h2")).toHaveText("Traffic by verdict");
    await expect.poll(() => legend(saved)).toEqual(["ACCEPT", "REJECT"]);
    // The panel menu's "Edit visualization" opens the replacement in the editor.
    await saved.getByRole("link", { name: "Edit visualization" }).click();
    await expect(page).toHaveURL(/\/visualize\/overview-flows-over-time$/);
  });

  test("a dashboard is renamed, described and tagged; the list finds it by tag", async ({ page }) => {
    const path = await newDashboard(page, "Edge traffic");
    await addPanel(page, "Accepted vs rejected");
    await page.locator('input[name="dashboard-title"]').fill("Edge traffic (prod)");
    await page.locator('input[name="dashboard-description"]').fill("What reaches the load balancers");
    await page.locator('input[name="dashboard-tags"]').fill("edge-prod, security, Edge-Prod");
    await expect(page.locator("h1.title")).toHaveText("Edge traffic (prod)");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.locator(".unsaved")).toHaveCount(0);

    await page.goto(path);
    await waitForHydration(page);
    await expect(page.locator("h1.title")).toHaveText("Edge traffic (prod)");
    await expect(page).toHaveTitle("Edge traffic (prod) · flowdash");
    await expect(page.locator(".dashboard-details .description")).toHaveText("What reaches the load balancers");
    // Repeats are dropped whatever their case.
    await expect(page.locator(".dashboard-details .tag")).toHaveText(["edge-prod", "security"]);

    // A tag leads to the list searched by it.
    await page.locator(".dashboard-details .tag", { hasText: "security" }).click();
    await expect(page).toHaveURL(/\/dashboards\?search=security/);
    const rows = page.locator("table.object-table tbody tr");
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText("Edge traffic (prod)");
    await expect(rows.first().locator(".tag")).toHaveText(["edge-prod", "security"]);
  });

  test("Save as new leaves the original as saved; Clone copies a dashboard", async ({ page }) => {
    const path = await newDashboard(page, "Original board");
    await addPanel(page, "Accepted vs rejected");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.locator(".unsaved")).toHaveCount(0);

    // Edited, then saved as a new dashboard under a new title.
    await page.getByRole("button", { name: "Edit" }).click();
    await addPanel(page, "Flows over time by action");
    await page.locator('input[name="dashboard-title"]').fill("Derived board");
    await page.getByRole("button", { name: "Save as new" }).click();
    await expect(page).not.toHaveURL(new RegExp(`${path}$`));
    await expect(page.locator("h1.title")).toHaveText("Derived board");
    await expect(page.locator("section.grid-panel")).toHaveCount(2);
    const derived = new URL(page.url()).pathname;

    // The original is as it was saved.
    await page.goto(path);
    await waitForHydration(page);
    await expect(page.locator("h1.title")).toHaveText("Original board");
    await expect(page.locator("section.grid-panel")).toHaveCount(1);

    // Clone: a copy under "(copy)", opened; the original stays.
    await page.getByRole("button", { name: "Clone" }).click();
    await expect(page.locator("h1.title")).toHaveText("Original board (copy)");
    const copy = new URL(page.url()).pathname;
    expect(copy).not.toBe(path);
    expect(copy).not.toBe(derived);
    await expect(page.locator("section.grid-panel")).toHaveCount(1);
  });

  test("a text panel shows Markdown, never markup, and is rendered by the server too", async ({ page }) => {
    const path = await newDashboard(page, "Notes board");
    await page.getByRole("button", { name: "Add text" }).click();
    const notes = panel(page, "Notes");
    await expect(notes.locator(".markdown h3")).toHaveText("Notes");
    await notes.getByRole("button", { name: "Panel settings" }).click();
    const text = [
      "# Runbook",
      "Rejected **22** is *expected* from scanners; see [the wiki](https://wiki.example/vpc) or [flows](/discover).",
      "",
      "- check `srcaddr`",
      "- <img src=x onerror=alert(1)>",
      "",
      "[bad](javascript:alert(1))",
    ].join("\n");
    await notes.locator('textarea[name="markdown"]').fill(text);
    await notes.getByRole("button", { name: "Done" }).click();
    const body = notes.locator(".markdown");
    await expect(body.locator("h2")).toHaveText("Runbook");
    await expect(body.locator("strong")).toHaveText("22");
    await expect(body.locator("em")).toHaveText("expected");
    await expect(body.getByRole("link", { name: "the wiki" })).toHaveAttribute("href", "https://wiki.example/vpc");
    await expect(body.getByRole("link", { name: "the wiki" })).toHaveAttribute("rel", "noopener noreferrer");
    await expect(body.getByRole("link", { name: "flows" })).toHaveAttribute("href", "/discover");
    await expect(body.locator("li").nth(1)).toHaveText("<img src=x onerror=alert(1)>");
    await expect(body.locator("img")).toHaveCount(0);
    // A javascript: link is its text only.
    await expect(body.getByRole("link", { name: "bad" })).toHaveCount(0);
    await expect(body).toContainText("bad");
    // Notes have no flows and no data: no "View flows" or Inspect.
    await expect(notes.getByRole("button", { name: "Inspect" })).toHaveCount(0);
    await expect(notes.getByRole("button", { name: "View flows" })).toHaveCount(0);
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.locator(".unsaved")).toHaveCount(0);

    // The server's page has the note as elements, and the markup as text.
    const html = await (await page.request.get(path)).text();
    expect(html).toMatch(/<h2>Runbook(<!>)*<\/h2>/);
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(html).not.toContain("<img src=x");
  });

  test("a legend entry filters for or against its value, by mouse and by keyboard", async ({ page }) => {
    await page.goto("/?from=now-1h&to=now");
    await waitForHydration(page);
    await allDrawn(page);
    const line = panel(page, "Flows over time by action");
    await expect.poll(() => legend(line)).toEqual(["ACCEPT", "REJECT"]);

    // Find the legend's REJECT entry on the canvas: the pointer turns into a hand over an
    // entry; a click there opens the entry's menu.
    const surface = line.locator(".chart-surface");
    const box = (await surface.boundingBox())!;
    let opened = false;
    for (let y = 4; y < box.height && !opened; y += 4) {
      for (const share of [0.97, 0.93, 0.89, 0.85]) {
        await page.mouse.move(box.x + box.width * share, box.y + y);
        if (await surface.evaluate((n) => n.classList.contains("over-legend"))) {
          await page.mouse.click(box.x + box.width * share, box.y + y);
          const menu = line.locator(".click-menu");
          if ((await menu.locator(".click-menu-title").textContent()) === "REJECT") {
            opened = true;
            break;
          }
          await page.keyboard.press("Escape");
        }
      }
    }
    expect(opened).toBe(true);
    const menu = line.locator(".click-menu");
    await expect(menu.getByRole("button", { name: "Filter out REJECT" })).toBeVisible();
    await menu.getByRole("button", { name: "Filter out REJECT" }).click();
    await expect(page.locator(".filter-bar .pill-label")).toHaveText("NOT action: REJECT");
    await expect(page).toHaveURL(/filters=/);
    await allDrawn(page);
    await expect.poll(() => legend(line)).toEqual(["ACCEPT"]);

    // By keyboard: the text legend's buttons, shown when focused.
    await page.locator(".filter-bar .pill").getByRole("button", { name: /Remove/ }).click();
    await expect(page.locator(".filter-bar .pill")).toHaveCount(0);
    await allDrawn(page);
    const pie = panel(page, "Accepted vs rejected");
    await expect.poll(() => legend(pie)).toEqual(["ACCEPT", "REJECT"]);
    // The legend is one tab stop: the first entry's button; arrow keys walk the rest.
    const first = pie.getByRole("button", { name: "Filter for ACCEPT" });
    const button = pie.getByRole("button", { name: "Filter for REJECT" });
    await expect(first).toHaveAttribute("tabindex", "0");
    await expect(button).toHaveAttribute("tabindex", "-1");
    await first.focus();
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    await expect(button).toBeFocused();
    // Visually hidden until then (1 pixel), a readable list while focused.
    await expect.poll(async () => (await pie.locator("ul.chart-legend").boundingBox())!.width).toBeGreaterThan(40);
    await page.keyboard.press("Enter");
    await expect(page.locator(".filter-bar .pill-label")).toHaveText("action: REJECT");
    await allDrawn(page);
    await expect.poll(() => legend(pie)).toEqual(["REJECT"]);
  });

  test("a URL drilldown: set in the editor, checked as typed, offered with the filter on a click", async ({ page, request }) => {
    // A copy of the overview's top talkers, so the overview stays as other tests expect it.
    const template = await (await request.get("/api/saved_objects/visualization/overview-top-talkers")).json();
    const created = await request.post("/api/saved_objects/visualization/e2e-talkers", {
      data: { attributes: { ...template.attributes, title: "Talkers with whois" } },
    });
    expect(created.ok()).toBeTruthy();
    await page.goto("/visualize/e2e-talkers");
    await waitForHydration(page);
    await page.getByRole("button", { name: "Add drilldown" }).click();
    await page.getByLabel("Drilldown 1 name").fill("Whois");
    const url = page.getByLabel("Drilldown 1 URL");
    await url.fill("javascript:alert({{value}})");
    await expect(page.locator(".drilldown-row .error")).toContainText("must start with https://");
    await expect(page.getByRole("button", { name: "Save", exact: true })).toBeDisabled();
    await url.fill("https://whois.example/{{ip}}");
    await expect(page.locator(".drilldown-row .error")).toContainText("{{ip}} is not a variable");
    await url.fill("https://whois.example/lookup?q={{value}}&from={{from}}");
    await expect(page.locator(".drilldown-row .error")).toHaveCount(0);
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.locator(".unsaved")).toHaveCount(0);

    await newDashboard(page, "Drilldowns");
    await addPanel(page, "Talkers with whois");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(page.locator(".unsaved")).toHaveCount(0);
    await allDrawn(page);
    // Click a bar: a menu with the filter and the link, instead of filtering at once.
    const canvas = panel(page, "Talkers with whois").locator('canvas.chart[data-drawn="true"]');
    const point = await firstColouredPoint(canvas);
    expect(point, "a bar").not.toBeNull();
    await canvas.click({ position: point! });
    const menu = panel(page, "Talkers with whois").locator(".click-menu");
    const address = (await menu.locator(".click-menu-title").textContent())!;
    expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const link = menu.getByRole("link", { name: /Whois/ });
    await expect(link).toHaveAttribute("href", new RegExp(`^https://whois\\.example/lookup\\?q=${address.replace(/\./g, "\\.")}&from=\\d{4}-\\d\\d-\\d\\dT`));
    await expect(link).toHaveAttribute("target", "_blank");
    await expect(page.locator(".filter-bar .pill")).toHaveCount(0);
    // The menu takes the focus; Escape closes it and gives the focus back to the chart,
    // and in full screen it leaves full screen alone.
    await page.goto(`${new URL(page.url()).pathname}?kiosk=true`);
    await waitForHydration(page);
    await allDrawn(page);
    await canvas.click({ position: point! });
    await expect(menu.getByRole("button", { name: `Filter for ${address}` })).toBeFocused();
    await page.keyboard.press("Escape");
    await expect(menu).toHaveCount(0);
    await expect(canvas).toBeFocused();
    await page.waitForTimeout(100);
    await expect(page.locator(".dashboard.kiosk")).toHaveCount(1);
    // Focus moving elsewhere closes the menu too (once it has the focus: the menu takes it
    // just after it opens).
    await canvas.click({ position: point! });
    await expect(menu).toHaveCount(1);
    await expect(menu.getByRole("button", { name: `Filter for ${address}` })).toBeFocused();
    await page.mouse.click(5, 5);
    await expect(menu).toHaveCount(0);
    // So does a press outside it that moves no focus (as one made before the menu has taken
    // the focus); a press inside it does not.
    await canvas.click({ position: point! });
    await expect(menu).toHaveCount(1);
    await menu.locator(".click-menu-title").dispatchEvent("pointerdown");
    await expect(menu).toHaveCount(1);
    await page.locator("body").dispatchEvent("pointerdown");
    await expect(menu).toHaveCount(0);
    await page.getByRole("button", { name: "Exit full screen" }).click();
    await expect(page.locator(".dashboard.kiosk")).toHaveCount(0);
    await allDrawn(page);
    await canvas.click({ position: point! });
    await menu.getByRole("button", { name: `Filter for ${address}` }).click();
    await expect(page.locator(".filter-bar .pill-label")).toHaveText(`srcaddr: ${address}`);
  });
});
