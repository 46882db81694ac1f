import { APIRequestContext, Page, expect } from "@playwright/test";

/** Version 2 flow-log lines: `count` records per minute over the last `minutes` minutes. */
export function recentFlowLines(minutes: number, perMinute: number): string {
  const now = Math.floor(Date.now() / 1000);
  const lines: string[] = [];
  for (let m = minutes; m >= 1; m--) {
    for (let i = 0; i < perMinute; i++) {
      const start = now - m * 60 + i;
      const reject = i % 3 === 0;
      const port = reject ? [22, 3389, 445][i % 3 === 0 ? (m % 3) : 0] : 443;
      lines.push(
        [2, "123456789012", "eni-0e2e0e2e0e2e0e2e0", `198.51.100.${(i % 200) + 1}`, "10.0.1.10",
          40000 + i, port, 6, 10 + i, 1000 + 37 * i, start, start + 59,
          reject ? "REJECT" : "ACCEPT", "OK"].join(" "),
      );
    }
  }
  return lines.join("\n") + "\n";
}

export async function ingest(request: APIRequestContext, body: string) {
  const response = await request.post("/api/ingest", { data: body });
  expect(response.ok()).toBeTruthy();
  return response.json();
}

/** Counts canvas pixels near each colour (r, g, b), and all non-white ones. */
export async function canvasColours(page: Page, selector: string, colours: Record<string, [number, number, number]>) {
  return page.$eval(
    selector,
    (canvas, colours) => {
      const c = canvas as HTMLCanvasElement;
      const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      const counts: Record<string, number> = { inked: 0 };
      for (const name of Object.keys(colours)) counts[name] = 0;
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
        if (r < 245 || g < 245 || b < 245) counts.inked++;
        for (const [name, [cr, cg, cb]] of Object.entries(colours)) {
          if (Math.abs(r - cr) < 12 && Math.abs(g - cg) < 12 && Math.abs(b - cb) < 12) counts[name]++;
        }
      }
      const rect = c.getBoundingClientRect();
      return { counts, width: c.width, height: c.height, cssWidth: rect.width, cssHeight: rect.height };
    },
    colours,
  );
}

export const ACCEPT_GREEN: [number, number, number] = [0x54, 0xb3, 0x99];
export const REJECT_RED: [number, number, number] = [0xe7, 0x66, 0x4c];

/** Waits until the WASM bundle has hydrated the page. */
export async function waitForHydration(page: Page) {
  await page.waitForFunction(() => document.body.dataset.hydrated === "true");
}

/** Opens a new visualization as a data table with one bucket, over the last hour. */
export async function newTableOverLastHour(page: Page) {
  await page.goto("/visualize/new");
  await waitForHydration(page);
  await page.locator('select[name="kind"]').selectOption("Table");
  await page.getByRole("button", { name: "+ Add bucket" }).click();
  await page.locator("button.time-button").click();
  await page.getByRole("button", { name: "Last 1 hour" }).click();
}

/** Creates an empty dashboard called `title` and opens it in edit mode. */
export async function newDashboard(page: Page, title: string): Promise<string> {
  await page.goto("/dashboards");
  await waitForHydration(page);
  await page.getByLabel("New dashboard title").fill(title);
  await page.getByRole("button", { name: "Create dashboard" }).click();
  await expect(page).toHaveURL(/\/dashboards\/[^/]+$/);
  await waitForHydration(page);
  await page.getByRole("button", { name: "Edit" }).click();
  return new URL(page.url()).pathname;
}

/** A dashboard panel by its title. */
export function panel(page: Page, title: string) {
  return page.locator(`section.grid-panel[aria-label="${title}"]`);
}

/** The legend entries a chart drew (its text twin, read by screen readers). */
export async function legend(scope: ReturnType<Page["locator"]>): Promise<string[]> {
  return scope.locator("ul.chart-legend li").allTextContents();
}

/**
 * Clicks inside the largest patch of `colour` on a canvas: a point whose neighbours `reach`
 * device pixels away in all four directions have the colour too (so not a legend swatch edge).
 */
export async function clickColour(page: Page, canvas: ReturnType<Page["locator"]>, colour: [number, number, number], reach = 24) {
  await canvas.click({ position: await colourPoint(canvas, colour, reach) });
}

/** A point, in CSS pixels, inside a patch of `colour` at least `reach` device pixels each way. */
export async function colourPoint(canvas: ReturnType<Page["locator"]>, colour: [number, number, number], reach = 24) {
  const point = await canvas.evaluate(
    (node, [colour, reach]) => {
      const c = node as HTMLCanvasElement;
      const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      const [cr, cg, cb] = colour as number[];
      const near = (x: number, y: number) => {
        if (x < 0 || y < 0 || x >= c.width || y >= c.height) return false;
        const i = (y * c.width + x) * 4;
        return Math.abs(data[i] - cr) < 12 && Math.abs(data[i + 1] - cg) < 12 && Math.abs(data[i + 2] - cb) < 12;
      };
      const r = reach as number;
      for (let y = 0; y < c.height; y += 3) {
        for (let x = 0; x < c.width; x += 3) {
          if (near(x, y) && near(x + r, y) && near(x - r, y) && near(x, y + r) && near(x, y - r)) {
            return { x: x / (c.width / c.clientWidth), y: y / (c.height / c.clientHeight) };
          }
        }
      }
      return null;
    },
    [colour, reach] as const,
  );
  expect(point, "a patch of the colour").not.toBeNull();
  return point!;
}

/** Decodes an image URL in the page and counts pixels near `colour` and all non-white ones. */
export async function imagePixels(page: Page, url: string, colour: [number, number, number]) {
  return page.evaluate(
    async ([url, colour]) => {
      const image = new Image();
      image.src = url as string;
      await image.decode();
      const canvas = document.createElement("canvas");
      canvas.width = image.naturalWidth;
      canvas.height = image.naturalHeight;
      const context = canvas.getContext("2d")!;
      context.drawImage(image, 0, 0);
      const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
      const [cr, cg, cb] = colour as number[];
      let inked = 0;
      let matching = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i] < 245 || data[i + 1] < 245 || data[i + 2] < 245) inked++;
        if (Math.abs(data[i] - cr) < 12 && Math.abs(data[i + 1] - cg) < 12 && Math.abs(data[i + 2] - cb) < 12) matching++;
      }
      return { width: canvas.width, height: canvas.height, inked, matching };
    },
    [url, colour] as const,
  );
}

/** Waits until every chart panel on the page has drawn (tables have no canvas). */
export async function allDrawn(page: Page) {
  await expect
    .poll(async () =>
      page.locator("section.grid-panel canvas.chart").evaluateAll((nodes) =>
        nodes.length > 0 && nodes.every((n) => n.getAttribute("data-drawn") === "true"),
      ),
    )
    .toBe(true);
}

/** The first strongly coloured (not grey, not white) point of a canvas from its top left, in
 * CSS pixels a little inside it: on a bar chart, a bar. */
export async function firstColouredPoint(canvas: ReturnType<Page["locator"]>) {
  return canvas.evaluate((node) => {
    const c = node as HTMLCanvasElement;
    const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    for (let y = 0; y < c.height; y += 2) {
      for (let x = 0; x < c.width; x += 2) {
        const i = (y * c.width + x) * 4;
        if (Math.max(data[i], data[i + 1], data[i + 2]) - Math.min(data[i], data[i + 1], data[i + 2]) > 60) {
          return { x: (x + 4) / (c.width / c.clientWidth), y: (y + 4) / (c.height / c.clientHeight) };
        }
      }
    }
    return null;
  });
}
