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
      return { counts, width: c.width, height: c.height, cssWidth: c.clientWidth, cssHeight: c.clientHeight };
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
