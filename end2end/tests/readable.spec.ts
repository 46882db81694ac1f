import { test, expect, Page } from "@playwright/test";
import { firstColouredPoint, ingest, panel, waitForHydration } from "./helpers";

// Issue 19, bugs 8 and 9: charts a user can read, and the small things that erode trust.

/** Flows to 3306 and 3389 (which a cut legend would both show as `33…`), and more ports
 * besides, over the last 10 minutes; mostly accepted, as other specs expect. */
function portLines(): string {
  const now = Math.floor(Date.now() / 1000);
  const lines: string[] = [];
  const ports = [3306, 3389, 22, 445, 23, 8080, 5432, 1433];
  for (let i = 0; i < 160; i++) {
    const start = now - 600 + i * 3;
    lines.push([2, "123456789012", "eni-0aa11bb22cc33dd44", `192.0.2.${(i % 30) + 1}`, "10.0.7.7",
      51000 + i, ports[i % ports.length], 6, 2, 120, start, start + 30, i % 5 === 0 ? "REJECT" : "ACCEPT", "OK"].join(" "));
  }
  return lines.join("\n") + "\n";
}

/** Each legend entry of a panel with its colour. */
async function legendColours(page: Page, title: string): Promise<Map<string, string>> {
  const items = panel(page, title).locator("ul.chart-legend li[data-color]");
  const pairs = await items.evaluateAll((nodes) => nodes.map((n) => [n.textContent ?? "", n.getAttribute("data-color") ?? ""]));
  return new Map(pairs.filter(([, colour]) => colour !== "") as [string, string][]);
}

async function allDrawn(page: Page) {
  await expect
    .poll(async () =>
      page.locator("section.grid-panel").evaluateAll((panels) =>
        panels.length > 0 && panels.every((p) => p.querySelector('canvas.chart[data-drawn="true"]') || p.querySelector("table") || p.querySelector(".chart-empty") || p.querySelector(".chart-error"))),
    )
    .toBe(true);
}

test.describe("readable", () => {
  test.beforeAll(async ({ request }) => {
    const report = await ingest(request, portLines());
    expect(report.rejected).toBe(0);
  });

  test("8. one colour per term on a dashboard, the pie's rings never share one", async ({ page }) => {
    await page.goto("/?from=now-15m&to=now");
    await waitForHydration(page);
    await allDrawn(page);
    const pie = await legendColours(page, "Action and destination port");
    expect([...pie.keys()]).toEqual(expect.arrayContaining(["ACCEPT", "REJECT"]));
    expect(pie.size).toBeGreaterThan(4);
    // Every entry its own colour: the inner ring's green and red are not a port's.
    const colours = [...pie.values()];
    expect(new Set(colours).size).toBe(colours.length);
    // A term has the same colour in every panel that shows it.
    const byTerm = new Map<string, Set<string>>();
    for (const title of await page.locator("section.grid-panel").evaluateAll((ps) => ps.map((p) => p.getAttribute("aria-label") ?? ""))) {
      for (const [term, colour] of await legendColours(page, title)) {
        byTerm.set(term, (byTerm.get(term) ?? new Set()).add(colour));
      }
    }
    for (const [term, seen] of byTerm) expect([...seen], term).toHaveLength(1);
  });

  test("9. tabs are titled by what they show", async ({ page }) => {
    await page.goto("/");
    await waitForHydration(page);
    await expect(page).toHaveTitle("VPC flow overview · flowdash");
    await page.goto("/visualize");
    await expect(page).toHaveTitle("Visualizations · flowdash");
    await page.goto("/discover");
    await expect(page).toHaveTitle("Discover · flowdash");
    await page.goto("/management/index-patterns");
    await expect(page).toHaveTitle("Index patterns · flowdash");
  });

  test("9. every icon has a glyph in this machine's fonts", async ({ page }) => {
    await page.goto("/?from=now-15m&to=now");
    await waitForHydration(page);
    await page.getByRole("button", { name: "Edit" }).click();
    await expect(page.locator('button[aria-label="Duplicate panel"]').first()).toBeVisible();
    // Drawn in the button's own font, a glyph no font has (U+10FFFD) is the fallback box:
    // an icon drawn the same has no glyph either.
    const missing = await page.evaluate(() => {
      const canvas = document.createElement("canvas");
      canvas.width = 64;
      canvas.height = 64;
      const context = canvas.getContext("2d")!;
      const draw = (text: string, font: string) => {
        context.clearRect(0, 0, 64, 64);
        context.font = font;
        context.fillText(text, 8, 44);
        return context.getImageData(0, 0, 64, 64).data.join(",");
      };
      const icons = [...document.querySelectorAll("button.icon, .field-type")];
      return icons
        .map((node) => {
          const font = getComputedStyle(node).font;
          const text = (node.textContent ?? "").trim();
          return draw(text, font) === draw("\u{10FFFD}", font) ? text : null;
        })
        .filter((text) => text !== null);
    });
    expect(missing).toEqual([]);
  });

  test("9. an empty table says there is nothing; a bad query is said once", async ({ page }) => {
    await page.goto("/?from=2001-01-01T00:00:00Z&to=2001-01-02T00:00:00Z");
    await waitForHydration(page);
    await expect(panel(page, "Top rejected sources").locator(".chart-empty")).toHaveText("No results in this time range");

    await page.goto("/?from=now-15m&to=now");
    await waitForHydration(page);
    await page.getByLabel("Query", { exact: true }).fill("action:(REJECT");
    await page.getByRole("button", { name: "Update" }).click();
    await expect(page.locator(".query-error")).toHaveCount(1);
    await expect(page.locator(".query-error")).not.toBeEmpty();
    const errors = page.locator("section.grid-panel .chart-error");
    await expect(errors.first()).toBeVisible();
    expect(new Set(await errors.allTextContents())).toEqual(new Set(["Not drawn: see the error under the query bar"]));
  });

  test("9. a brushed range reads as local time to the second", async ({ page }) => {
    await page.goto("/?from=2026-03-06T05:07:00.123Z&to=2026-03-06T05:37:00.579Z");
    await waitForHydration(page);
    await expect(page.locator("button.time-button")).toHaveText(/^◷ Mar 6, 2026 @ \d\d:\d7:00 → \d\d:\d7:00$/);
  });

  test("9. dragging a panel selects no text, and removing one leaves no empty rows", async ({ page, request }) => {
    const id = "e2e-readable-compact";
    const created = await request.post(`/api/saved_objects/dashboard/${id}?overwrite=true`, {
      data: { attributes: { version: 1, title: "Readable: compaction", panels: [
        { id: "1", grid: { x: 0, y: 0, w: 24, h: 8 }, visualization_id: "overview-flows" },
        { id: "2", grid: { x: 0, y: 8, w: 24, h: 8 }, visualization_id: "overview-rejected" },
      ] } },
    });
    expect(created.ok(), await created.text()).toBeTruthy();
    await page.goto(`/dashboards/${id}`);
    await waitForHydration(page);
    await page.getByRole("button", { name: "Edit" }).click();
    const header = page.locator('section.grid-panel[data-panel="2"] .panel-header h2');
    const box = (await header.boundingBox())!;
    await page.mouse.move(box.x + 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + 40, box.y + box.height / 2 + 3, { steps: 5 });
    await page.mouse.up();
    expect(await page.evaluate(() => window.getSelection()?.toString() ?? "")).toBe("");

    await page.locator('section.grid-panel[data-panel="1"]').getByRole("button", { name: "Remove panel" }).click();
    await expect(page.locator('section.grid-panel[data-panel="2"]')).toHaveAttribute("style", /grid-row:1 \//);
    // "Saved" is said, then goes.
    await page.getByRole("button", { name: "Save", exact: true }).click();
    const saved = page.locator("p.message", { hasText: "Saved" });
    await expect(saved).toBeVisible();
    await expect(saved).toBeHidden({ timeout: 10_000 });
  });

  test("9. no sideways scrolling at 390 px", async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 800 });
    for (const path of ["/?from=now-15m&to=now", "/discover", "/visualize"]) {
      await page.goto(path);
      await waitForHydration(page);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width, path).toBeLessThanOrEqual(390);
    }
  });

  test("8. top talkers are horizontal bars: every address whole, the bar pointed at in its tooltip", async ({ page }) => {
    await page.goto("/?from=now-15m&to=now");
    await waitForHydration(page);
    await allDrawn(page);
    const canvas = panel(page, "Top talkers by bytes").locator('canvas.chart[data-drawn="true"]');
    // A bar: the first coloured (not grey, not white) pixel from the top left.
    const point = await firstColouredPoint(canvas);
    expect(point, "a bar").not.toBeNull();
    await canvas.hover({ position: point! });
    const tooltip = panel(page, "Top talkers by bytes").locator(".tooltip");
    await expect(tooltip.locator(".tooltip-title")).toHaveText(/^\d+\.\d+\.\d+\.\d+$/);
    await expect(tooltip).toContainText("Sum of bytes");

    // The server's render of the same chart (the same drawer): addresses are never cut.
    const svg = await (await page.request.get("/api/visualizations/overview-top-talkers/render.svg?from=now-15m&to=now&width=640&height=320")).text();
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)</g)].map((m) => m[1].trim());
    const addresses = texts.filter((t) => /^\d+\.\d+\.\d+\.\d+$/.test(t));
    expect(addresses.length, texts.join(" | ")).toBeGreaterThanOrEqual(5);
    expect(texts.filter((t) => t.includes("…") && /\d/.test(t))).toEqual([]);
  });

  // Canvases are backed at the screen's pixel ratio, so charts are sharp on ordinary and HiDPI
  // screens; and the query bar shows underscores on an ordinary one (bug 8).
  for (const ratio of [1, 2]) {
    test.describe(`device pixel ratio ${ratio}`, () => {
      test.use({ deviceScaleFactor: ratio });

      test("every chart canvas is backed at the pixel ratio", async ({ page }) => {
        await page.goto("/?from=now-15m&to=now");
        await waitForHydration(page);
        await allDrawn(page);
        const sizes = await page.locator('canvas.chart[data-drawn="true"]').evaluateAll((nodes) =>
          nodes.map((n) => {
            const c = n as HTMLCanvasElement;
            const rect = c.getBoundingClientRect();
            return { width: c.width, height: c.height, cssWidth: rect.width, cssHeight: rect.height };
          }),
        );
        expect(sizes.length).toBeGreaterThan(3);
        for (const size of sizes) {
          expect(Math.abs(size.width - size.cssWidth * ratio), JSON.stringify(size)).toBeLessThanOrEqual(1);
          expect(Math.abs(size.height - size.cssHeight * ratio), JSON.stringify(size)).toBeLessThanOrEqual(1);
        }
      });

      test("underscores in the query bar are drawn", async ({ page }) => {
        await page.goto("/?from=now-15m&to=now");
        await waitForHydration(page);
        const query = page.getByLabel("Query", { exact: true });
        // The same text with spaces for underscores: if underscores were clipped, the two
        // pictures would be the same.
        const picture = async (text: string) => {
          await query.fill(text);
          await query.blur();
          return query.screenshot({ animations: "disabled" });
        };
        const spaces = await picture("log status eni id");
        const underscores = await picture("log_status eni_id");
        expect(underscores.equals(spaces)).toBe(false);
      });
    });
  }
});
