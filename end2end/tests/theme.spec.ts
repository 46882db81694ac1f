import { test, expect, Page } from "@playwright/test";
import {
  allDrawn, ingest, panel, recentFlowLines, waitForHydration,
} from "./helpers";

// Issue 19, build 9: dark mode that follows the system and a toggle kept for the next visit,
// charts drawn in the page's theme; kiosk mode for a wall screen.


/** The colour of a chart canvas's top-left pixel (its background) as [r, g, b]. */
async function canvasBackground(page: Page, title: string): Promise<number[]> {
  return panel(page, title).locator("canvas.chart").evaluate((node) => {
    const c = node as HTMLCanvasElement;
    return Array.from(c.getContext("2d")!.getImageData(1, 1, 1, 1).data.slice(0, 3));
  });
}

async function pageBackground(page: Page): Promise<string> {
  return page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
}

const DARK_PANEL = [29, 30, 36];
const WHITE = [255, 255, 255];

test.describe("theme and kiosk", () => {
  test.beforeAll(async ({ request }) => {
    const report = await ingest(request, recentFlowLines(20, 6));
    expect(report.rejected).toBe(0);
  });

  test("dark follows the system; the toggle's choice is kept and rendered by the server", async ({ page, context }) => {
    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto("/?from=now-1h&to=now");
    await waitForHydration(page);
    await allDrawn(page);
    expect(await pageBackground(page)).toBe("rgb(20, 21, 25)");
    await expect.poll(() => canvasBackground(page, "Flows over time by action")).toEqual(DARK_PANEL);
    await page.screenshot({ path: "artifacts/overview-dark.png", fullPage: true });

    // System → Dark → Light: the charts redraw light at once.
    const toggle = page.locator("button.theme-toggle");
    await expect(toggle).toHaveText(/System/);
    await toggle.click();
    await expect(toggle).toHaveText(/Dark/);
    await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
    await toggle.click();
    await expect(toggle).toHaveText(/Light/);
    await expect(page.locator("html")).toHaveAttribute("data-theme", "light");
    expect(await pageBackground(page)).toBe("rgb(245, 247, 250)");
    await expect.poll(() => canvasBackground(page, "Flows over time by action")).toEqual(WHITE);

    // Kept in a cookie: the server's page is light before any script runs, though the system is dark.
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === "flowdash-theme")?.value).toBe("light");
    const html = await (await page.request.get("/", { headers: { cookie: "flowdash-theme=light" } })).text();
    expect(html).toContain('<html lang="en" data-theme="light"');
    await page.reload();
    await waitForHydration(page);
    expect(await pageBackground(page)).toBe("rgb(245, 247, 250)");
    await expect(toggle).toHaveText(/Light/);

    // Back to the system's choice: no attribute, dark again.
    await toggle.click();
    await expect(toggle).toHaveText(/System/);
    await expect(page.locator("html")).not.toHaveAttribute("data-theme", /./);
    expect(await pageBackground(page)).toBe("rgb(20, 21, 25)");
    await allDrawn(page);
    await expect.poll(() => canvasBackground(page, "Flows over time by action")).toEqual(DARK_PANEL);
    // A made-up cookie value is the system's choice, not markup.
    const odd = await (await page.request.get("/", { headers: { cookie: 'flowdash-theme="><script>' } })).text();
    expect(odd).toContain('<html lang="en">');
  });

  test("kiosk mode shows the dashboard alone, in the URL, and Escape leaves it", async ({ page }) => {
    await page.emulateMedia({ colorScheme: "light" });
    await page.goto("/?from=now-1h&to=now");
    await waitForHydration(page);
    await allDrawn(page);
    await page.locator(".toolbar-actions").getByRole("button", { name: "Full screen" }).click();
    await expect(page).toHaveURL(/kiosk=true/);
    await expect(page.locator("header.topbar")).toBeHidden();
    await expect(page.locator("form.query-bar")).toBeHidden();
    await expect(page.locator(".toolbar-actions")).toBeHidden();
    await expect(page.locator("h1.title")).toHaveText("VPC flow overview");
    await expect(page.locator("section.grid-panel")).toHaveCount(15);
    await page.screenshot({ path: "artifacts/overview-kiosk.png" });

    // A kiosk link opens in kiosk mode.
    await page.reload();
    await waitForHydration(page);
    await expect(page.locator("header.topbar")).toBeHidden();
    await page.keyboard.press("Escape");
    await expect(page).not.toHaveURL(/kiosk=true/);
    await expect(page.locator("header.topbar")).toBeVisible();
    await expect(page.locator("form.query-bar")).toBeVisible();
  });
});
