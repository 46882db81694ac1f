import { test, expect } from "@playwright/test";
import * as http from "node:http";
import { AddressInfo } from "node:net";

// A page on another site, as any site the user visits could serve it, tries every kind of
// write a browser sends without a preflight: HTML forms (urlencoded, multipart, text/plain)
// and `no-cors` fetches. flowdash must refuse them all and change nothing.
test("a page on another site cannot write to flowdash", async ({ page, request, baseURL }) => {
  const owned = JSON.stringify({
    type: "dashboard",
    id: "vpc-flow-overview",
    attributes: { title: "OWNED by evil.example", panels: [] },
  });
  const line = "2 123456789010 eni-0evil0evil0evil00 6.6.6.6 10.0.0.1 1 22 6 1 1 1700000000 1700000060 ACCEPT OK";
  const bulk =
    JSON.stringify({ index: { _index: "cwl-2023.11.14", _id: "evil" } }) + "\n" +
    JSON.stringify({ interface_id: "eni-0evil0evil0evil00", "@timestamp": "2023-11-14T22:13:20Z", action: "ACCEPT" }) + "\n";
  const attacker = http.createServer((_, response) => {
    response.setHeader("content-type", "text/html");
    response.end(`<!doctype html><title>evil</title><body>
      <form id="multipart" method="POST" enctype="multipart/form-data" target="sink1"
            action="${baseURL}/api/saved_objects/_import?overwrite=true">
        <input name="file" value='${owned}'>
      </form>
      <form id="plain" method="POST" enctype="text/plain" target="sink2" action="${baseURL}/api/ingest">
        <input name="${line}" value="">
      </form>
      <form id="urlencoded" method="POST" target="sink3" action="${baseURL}/api/short_urls">
        <input name="url" value="/\\\\evil.example/">
      </form>
      <iframe name="sink1"></iframe><iframe name="sink2"></iframe><iframe name="sink3"></iframe>
      <script>
        const sent = [
          fetch("${baseURL}/api/ingest", { method: "POST", mode: "no-cors", body: ${JSON.stringify(line + "\n")} }),
          fetch("${baseURL}/api/saved_objects/_import?overwrite=true", { method: "POST", mode: "no-cors", body: ${JSON.stringify(owned + "\n")} }),
          fetch("${baseURL}/es/_bulk", { method: "POST", mode: "no-cors", body: ${JSON.stringify(bulk)} }),
          fetch("${baseURL}/es/_bulk", { method: "POST", mode: "no-cors", body: new Blob([${JSON.stringify(bulk)}]) }),
          fetch("${baseURL}/api/saved_objects/dashboard/vpc-flow-overview", { method: "PUT", mode: "no-cors", body: ${JSON.stringify(owned)} }),
          fetch("${baseURL}/es/_all", { method: "DELETE", mode: "no-cors" }),
        ].map((p) => p.catch(() => {}));
        for (const id of ["multipart", "plain", "urlencoded"]) document.getElementById(id).submit();
        Promise.all(sent).then(() => { document.title = "sent"; });
      </script>`);
  });
  await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
  const port = (attacker.address() as AddressInfo).port;
  try {
    const reached: string[] = [];
    page.on("request", (r) => { if (r.url().startsWith(baseURL!)) reached.push(r.url()); });
    // `localhost` is another site than flowdash's `127.0.0.1`.
    await page.goto(`http://localhost:${port}/`);
    await expect(page).toHaveTitle("sent");
    await page.waitForTimeout(1500);
    expect(reached.length, "the page did send its writes").toBeGreaterThanOrEqual(6);

    const overview = await request.get("/api/saved_objects/dashboard/vpc-flow-overview");
    expect(overview.ok()).toBeTruthy();
    expect((await overview.json()).attributes.title).not.toContain("OWNED");
    const evil = await request.post("/api/search", {
      data: { index: "cwl-*", body: { size: 0, track_total_hits: true, query: { term: { interface_id: "eni-0evil0evil0evil00" } } } },
    });
    expect(evil.ok()).toBeTruthy();
    expect((await evil.json()).hits.total.value).toBe(0);
  } finally {
    attacker.close();
  }
});

test("pages carry a content security policy and still hydrate under it", async ({ page }) => {
  const errors: string[] = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  const response = await page.goto("/");
  const headers = response!.headers();
  expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
  expect(headers["x-frame-options"]).toBe("DENY");
  const scriptSrc = headers["content-security-policy"].split(";").find((d) => d.trim().startsWith("script-src"))!;
  expect(scriptSrc).not.toContain("unsafe-inline");
  expect(scriptSrc).toMatch(/'nonce-[A-Za-z0-9_-]{22,}'/);
  await page.waitForFunction(() => document.body.dataset.hydrated === "true");
  expect(errors.filter((e) => e.includes("Content Security Policy"))).toEqual([]);
  // Markup that slipped in cannot run script: an inline script without the nonce is blocked.
  const ran = await page.evaluate(async () => {
    const script = document.createElement("script");
    script.textContent = "window.__injected = true;";
    document.body.appendChild(script);
    await new Promise((resolve) => setTimeout(resolve, 100));
    return (window as unknown as { __injected?: boolean }).__injected === true;
  });
  expect(ran).toBe(false);
});
