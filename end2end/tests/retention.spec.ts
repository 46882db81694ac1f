import { test, expect } from "@playwright/test";
import { panel, waitForHydration } from "./helpers";

// Issue 22, item 2: rollups kept longer than the flows (`--retain-days 2 --rollup-retain-days
// 30`, see playwright.config.ts). Over four days, a panel the rollups answer draws every day;
// a panel that needs the flows (top talkers) draws the days that have them and says, on the
// panel and in Inspect, which days it lacks.

const server = `http://127.0.0.1:${Number(process.env.FLOWDASH_E2E_RETENTION_PORT ?? 3112)}`;

const topSources = {
  index: "cwl-*",
  body: { size: 0, aggs: { s: { terms: { field: "srcaddr", size: 5 } } } },
};

test("a panel that needs deleted flows says which days it lacks; one the rollups answer does not", async ({
  page,
  request,
}) => {
  // Retention runs as the server starts: wait until the old days are rollups only.
  let expired: string[] = [];
  await expect
    .poll(
      async () => {
        const answer = await (await request.post(`${server}/api/search`, { data: topSources })).json();
        expired = (answer._shards.failures ?? []).map((f: { index: string }) => f.index);
        return expired.length;
      },
      { timeout: 60_000 },
    )
    .toBeGreaterThanOrEqual(2);

  // Every day still counts in the rollups: the total over four days is the demo's 40,000.
  const count = await (
    await request.post(`${server}/api/search`, {
      data: { index: "cwl-*", body: { size: 0, track_total_hits: true, aggs: { a: { terms: { field: "action" } } } } },
    })
  ).json();
  expect(count._shards.failed).toBe(0);
  expect(count.hits.total.value).toBe(40000);

  await page.goto(`${server}/?from=now-5d&to=now`);
  await waitForHydration(page);
  const talkers = panel(page, "Top talkers by bytes");
  await expect(talkers.locator('canvas.chart[data-drawn="true"]')).toBeVisible();
  const warning = talkers.locator(".partial-answer");
  await expect(warning).toBeVisible();
  const note = await warning.getAttribute("aria-label");
  expect(note).toContain("did not answer");
  expect(note).toContain(expired[0]);
  expect(note).toContain("--retain-days");

  const pie = panel(page, "Accepted vs rejected");
  await expect(pie.locator('canvas.chart[data-drawn="true"]')).toBeVisible();
  await expect(pie.locator(".partial-answer")).toHaveCount(0);

  // Inspect lists it beside the answer's statistics.
  await talkers.getByRole("button", { name: "Inspect" }).click();
  const dialog = page.getByRole("dialog", { name: "Inspect Top talkers by bytes" });
  await dialog.getByRole("tab", { name: "Requests" }).click();
  await expect(dialog).toContainText("did not answer");
});

test("Discover over days kept only as rollups shows the flows it has and says which days it lacks", async ({
  page,
}) => {
  await page.goto(`${server}/discover?from=now-5d&to=now`);
  await waitForHydration(page);
  const note = page.locator(".partial-answer-note");
  await expect(note).toContainText("did not answer");
  await expect(note).toContainText("--retain-days");
  await expect(page.locator(".hit-count")).toContainText("flows");
});
