import { test, expect, Page } from "@playwright/test";
import { allDrawn, ingest, recentFlowLines, waitForHydration } from "./helpers";

// Issue 22, item 3: the overview downloads what dashboards need; every other page's code is a
// WASM chunk of its own (`cargo leptos build --split`), fetched when the page is first shown.

const chunksOf = (paths: string[]) => paths.filter((p) => /\/pkg\/split___\w+_route_view_/.test(p));

/** The paths of the WASM files the page asks for from now on, as they are asked for. */
function wasmRequests(page: Page): string[] {
  const paths: string[] = [];
  page.on("request", (r) => {
    const path = new URL(r.url()).pathname;
    if (path.endsWith(".wasm")) paths.push(path);
  });
  return paths;
}

test.describe("bundle split by page", () => {
  test.beforeAll(async ({ request }) => {
    expect((await ingest(request, recentFlowLines(10, 5))).rejected).toBe(0);
  });

  test("the overview loads no page's chunk; another page's chunk comes when it is opened", async ({ page }) => {
    const wasm = wasmRequests(page);
    await page.goto("/");
    await waitForHydration(page);
    await allDrawn(page);
    expect(wasm.some((p) => /\/pkg\/flowdash\.[\w-]+\.wasm$/.test(p))).toBe(true);
    expect(chunksOf(wasm)).toEqual([]);

    // Client-side navigation: the list's chunk is fetched, and the page works.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Visualize" }).click();
    await expect(page).toHaveURL(/\/visualize$/);
    await expect(page.locator("h1")).toContainText("Visualizations");
    await expect.poll(() => chunksOf(wasm).some((p) => p.includes("visualize_list_route"))).toBe(true);
    await page.getByRole("link", { name: "Create visualization" }).click();
    await expect(page).toHaveURL(/\/visualize\/new/);
    await expect.poll(() => chunksOf(wasm).some((p) => p.includes("editor_route"))).toBe(true);
    expect(chunksOf(wasm).some((p) => p.includes("discover_route"))).toBe(false);
  });

  test("a visit that starts on Discover has its chunk preloaded by the page, and hydrates", async ({ page, request }) => {
    const html = await (await request.get("/discover")).text();
    const preloads = [...html.matchAll(/<link[^>]*href="([^"]+\.wasm)"[^>]*>/g)].map((m) => m[1]);
    expect(chunksOf(preloads).some((p) => p.includes("discover_route"))).toBe(true);
    expect(chunksOf(preloads).some((p) => p.includes("editor_route"))).toBe(false);

    await page.goto("/discover?index=cwl-*&from=now-1h&to=now");
    await waitForHydration(page);
    await expect(page.locator("table.flow-table tr.flow-row").first()).toBeVisible();
    // Hydrated: the query bar works.
    await page.getByLabel("Query", { exact: true }).fill("action:REJECT");
    await page.getByRole("button", { name: "Update" }).click();
    await expect(page).toHaveURL(/q=action%3AREJECT/);
  });

  test("chunks are kept by browsers as the bundle is, and sent compressed", async ({ page, request }) => {
    const wasm = wasmRequests(page);
    await page.goto("/management/networks");
    await waitForHydration(page);
    const chunk = chunksOf(wasm).find((p) => p.includes("networks_route"));
    expect(chunk).toBeTruthy();
    const answer = await request.get(chunk!, { headers: { "Accept-Encoding": "br, gzip" } });
    expect(answer.status()).toBe(200);
    expect(answer.headers()["cache-control"]).toContain("immutable");
    expect(answer.headers()["content-type"]).toBe("application/wasm");
  });
});
