import { defineConfig } from "@playwright/test";
import * as os from "node:os";
import * as path from "node:path";
import * as fs from "node:fs";

// The server under test: the real flowdash binary with the UI that `cargo leptos build` wrote,
// on its own port and an empty data directory. The tests ingest what they need over HTTP.
const port = Number(process.env.FLOWDASH_E2E_PORT ?? 3107);
const root = path.resolve(__dirname, "..");
const binary = process.env.FLOWDASH_BIN ?? path.join(root, "target/debug/flowdash");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flowdash-e2e-"));
const authPort = Number(process.env.FLOWDASH_E2E_AUTH_PORT ?? 3108);
const authDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flowdash-e2e-auth-"));
// Both backends: a flowdash whose /es answers as Elasticsearch 8 plays the cluster, and a
// flowdash in cluster mode (`--es-url`) in front of it.
const clusterPort = Number(process.env.FLOWDASH_E2E_CLUSTER_PORT ?? 3109);
const clusterDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flowdash-e2e-cluster-"));
const viaClusterPort = Number(process.env.FLOWDASH_E2E_VIA_CLUSTER_PORT ?? 3110);
const viaClusterDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flowdash-e2e-via-cluster-"));
// With MaxMind's test databases (scripts/setup fetches them): country and AS at ingest.
const geoPort = Number(process.env.FLOWDASH_E2E_GEO_PORT ?? 3111);
const geoDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flowdash-e2e-geo-"));
const maxmind = path.join(root, "tools/maxmind-test-data");
// Four days of demo flows, of which retention keeps the raw flows of the last two and the
// hourly rollups of all.
const retentionPort = Number(process.env.FLOWDASH_E2E_RETENTION_PORT ?? 3112);
const retentionDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flowdash-e2e-retention-"));

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: "chromium",
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      // The network here is closed: keep Chromium from trying to reach anything but the server.
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    deviceScaleFactor: 2,
    viewport: { width: 1280, height: 800 },
    screenshot: "only-on-failure",
    trace: "off",
  },
  webServer: [
    {
      // `flowdash.test` (mapped to 127.0.0.1 in Chromium by trust.spec.ts) is a plain-HTTP
      // name that is not localhost: a page there is not a secure context.
      command: `${binary} serve --listen 127.0.0.1:${port} --allowed-hosts flowdash.test --data-dir ${dataDir} --site-root ${path.join(root, "target/site")}`,
      url: `http://127.0.0.1:${port}/api/health`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "pipe",
      stderr: "pipe",
    },
    // The same binary with logins (`--auth users`): a viewer and an editor.
    {
      command: [
        `printf 'vera-password\\n' | ${binary} users add vera --role viewer --password-stdin --data-dir ${authDataDir}`,
        `printf 'eddie-password\\n' | ${binary} users add eddie --role editor --password-stdin --data-dir ${authDataDir}`,
        `exec ${binary} serve --auth users --listen 127.0.0.1:${authPort} --data-dir ${authDataDir} --site-root ${path.join(root, "target/site")}`,
      ].join(" && "),
      url: `http://127.0.0.1:${authPort}/api/health`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "pipe",
      stderr: "pipe",
    },
    {
      command: `exec ${binary} serve --es-compat-version 8.11.0 --listen 127.0.0.1:${clusterPort} --data-dir ${clusterDataDir} --site-root ${path.join(root, "target/site")}`,
      url: `http://127.0.0.1:${clusterPort}/api/health`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "pipe",
      stderr: "pipe",
    },
    {
      // Started once the cluster answers: it reads the cluster's version and saved objects.
      command: [
        `until curl -sf http://127.0.0.1:${clusterPort}/api/health > /dev/null; do sleep 0.2; done`,
        `exec ${binary} serve --es-url http://127.0.0.1:${clusterPort}/es --geoip-db ${maxmind}/GeoLite2-City-Test.mmdb --asn-db ${maxmind}/GeoLite2-ASN-Test.mmdb --listen 127.0.0.1:${viaClusterPort} --data-dir ${viaClusterDataDir} --site-root ${path.join(root, "target/site")}`,
      ].join(" && "),
      url: `http://127.0.0.1:${viaClusterPort}/api/health`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "pipe",
      stderr: "pipe",
    },
    {
      command: `exec ${binary} serve --geoip-db ${maxmind}/GeoLite2-City-Test.mmdb --asn-db ${maxmind}/GeoLite2-ASN-Test.mmdb --listen 127.0.0.1:${geoPort} --data-dir ${geoDataDir} --site-root ${path.join(root, "target/site")}`,
      url: `http://127.0.0.1:${geoPort}/api/health`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "pipe",
      stderr: "pipe",
    },
    {
      command: [
        `${binary} demo --flows 40000 --hours 96 --seed 3 --data-dir ${retentionDataDir}`,
        `exec ${binary} serve --retain-days 2 --rollup-retain-days 30 --listen 127.0.0.1:${retentionPort} --data-dir ${retentionDataDir} --site-root ${path.join(root, "target/site")}`,
      ].join(" && "),
      url: `http://127.0.0.1:${retentionPort}/api/health`,
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: "pipe",
      stderr: "pipe",
    },
  ],
});
