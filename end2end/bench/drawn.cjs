// Times a page in Chromium, from navigation to drawn, and the HTTP requests it makes:
//   overview  every dashboard panel drawn by the browser (a chart, a table or an error), and,
//             before that, every panel showing its chart (`visible_ms`): the server's image
//             of it loaded, which stands in until the browser draws, or the browser's own;
//   discover  the histogram drawn and the first page of flows in the table.
// Usage: node bench/drawn.cjs overview|discover URL [runs]
// Prints one JSON line per run and a summary line. Local only: the URL must be 127.0.0.1.
const { chromium } = require("@playwright/test");

const [what, url] = process.argv.slice(2, 4);
const runs = Number(process.argv[4] ?? 5);
const DRAWN = {
  overview: () => {
    const panels = [...document.querySelectorAll("section.grid-panel")];
    return document.body.dataset.hydrated === "true" && panels.length > 0 &&
      panels.every((p) => p.querySelector('canvas.chart[data-drawn="true"]') || p.querySelector("table.data-table tbody tr") || p.querySelector(".chart-error"));
  },
  discover: () => document.body.dataset.hydrated === "true" &&
    document.querySelector('.discover-histogram canvas.chart[data-drawn="true"]') !== null &&
    document.querySelector("table.flow-table tr.flow-row") !== null,
};
// Every panel shows its chart, drawn by the browser or by the server, hydrated or not.
const VISIBLE = () => {
  const panels = [...document.querySelectorAll("section.grid-panel")];
  return panels.length > 0 && panels.every((p) =>
    [...p.querySelectorAll("img.server-chart")].some((img) => img.complete && img.naturalWidth > 0) ||
    p.querySelector('canvas.chart[data-drawn="true"]') || p.querySelector("table.data-table tbody tr") ||
    p.querySelector(".chart-error"));
};
if (!DRAWN[what] || !/^http:\/\/127\.0\.0\.1:\d+\//.test(url ?? "")) {
  console.error("usage: node bench/drawn.cjs overview|discover http://127.0.0.1:PORT/path [runs]");
  process.exit(2);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const results = [];
  for (let run = 0; run < runs; run++) {
    // A fresh context per run: nothing cached, like a colleague opening a shared link.
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 2 });
    const page = await context.newPage();
    const requests = [];
    page.on("request", (r) => requests.push(new URL(r.url()).pathname));
    // How long the searches took, request sent to answer received: the server's share.
    const searchMs = [];
    page.on("requestfinished", (r) => {
      if (["/api/msearch", "/api/search"].includes(new URL(r.url()).pathname)) {
        searchMs.push(Math.round(r.timing().responseEnd));
      }
    });
    await page.goto(url, { waitUntil: "commit" });
    let visibleMs;
    if (what === "overview") {
      await page.waitForFunction(VISIBLE, null, { timeout: 120_000, polling: 10 });
      visibleMs = Math.round(await page.evaluate(() => performance.now()));
    }
    await page.waitForFunction(DRAWN[what], null, { timeout: 120_000, polling: 10 });
    const drawnMs = await page.evaluate(() => performance.now());
    // Each failed panel's title and what it says.
    const failed = await page.evaluate(() => [...document.querySelectorAll("section.grid-panel")]
      .filter((p) => p.querySelector(".chart-error"))
      .map((p) => `${p.getAttribute("aria-label")}: ${p.querySelector(".chart-error").textContent.trim().slice(0, 200)}`));
    const errors = failed.length;
    results.push({ run, visible_ms: visibleMs, drawn_ms: Math.round(drawnMs), search_ms: searchMs, requests: requests.length,
      msearch: requests.filter((p) => p === "/api/msearch").length,
      searches: requests.filter((p) => p === "/api/search").length, panel_errors: errors, failed });
    console.log(JSON.stringify(results[results.length - 1]));
    await context.close();
  }
  await browser.close();
  const sorted = results.map((r) => r.drawn_ms).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const visible = results.map((r) => r.visible_ms).sort((a, b) => a - b)[Math.floor(results.length / 2)];
  const shown = visible === undefined ? "" : `, median ${visible} ms to every panel shown`;
  console.log(`${what} ${url}: median ${median} ms to drawn (min ${sorted[0]}, max ${sorted[sorted.length - 1]})${shown}, ${results[0].requests} HTTP requests (${results[0].msearch} msearch, ${results[0].searches} search)`);
})();
