// Measures the Overview in Debian's Chromium with the Performance API (docs/BENCHMARKS.md):
//   1. navigation start -> hydrated, cards filled and all six charts drawn (30-day range);
//   2. a live update: POST of one call -> request card changed, and -> the tokens chart
//      re-rendered (ECharts' `rendered` event after the new option).
// Usage: node bench/overview-perf.mjs URL ADMIN_PASSWORD API_KEY [runs]
import { chromium } from "playwright-core";

const [url, password, key, runsArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 7);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
await page.goto(`${url}/login`);
await page.getByLabel("Username").fill("admin");
await page.getByLabel("Password").fill(password);
await page.getByRole("button", { name: "Log in" }).click();
await page.waitForURL((u) => u.pathname === "/");

const charts = ["chart-tokens", "chart-cost", "chart-models", "chart-provider-requests", "chart-provider-cost", "chart-quality"];
// The WASM a first visit downloads for the Overview: a fresh context (empty cache) with the
// logged-in session; the main module and any split chunks, as sent (the server sends the
// precompressed brotli or gzip file when the browser accepts it).
const fresh = await browser.newContext({ storageState: await context.storageState() });
const first = await fresh.newPage();
await first.goto(`${url}/?range=30d`);
await first.waitForFunction(() => document.body.hasAttribute("data-hydrated"), null, { timeout: 30_000 });
const wasm = await first.evaluate(() =>
  performance
    .getEntriesByType("resource")
    .filter((e) => new URL(e.name).pathname.endsWith(".wasm"))
    .map((e) => ({ name: new URL(e.name).pathname, bytes: e.encodedBodySize })),
);
await fresh.close();

const loads = [];
for (let i = 0; i < runs; i++) {
  await page.goto(`${url}/?range=30d`);
  const t = await page.waitForFunction(
    (ids) => {
      const hydrated = document.body.hasAttribute("data-hydrated");
      const card = document.querySelector('[data-testid="card-requests"] .stat-value');
      const filled = card && card.textContent !== "—";
      const drawn = ids.every((id) => {
        const el = document.getElementById(id);
        const inst = el && window.echarts && window.echarts.getInstanceByDom(el);
        return inst && el.querySelector("canvas");
      });
      return hydrated && filled && drawn ? performance.now() : null;
    },
    charts,
    { polling: "raf", timeout: 30_000 },
  );
  loads.push(await t.jsonValue());
}

const live = [];
const redraw = [];
for (let i = 0; i < runs; i++) {
  const r = await page.evaluate(async (key) => {
    const card = document.querySelector('[data-testid="card-requests"] .stat-value');
    const chart = window.echarts.getInstanceByDom(document.getElementById("chart-tokens"));
    const before = card.textContent;
    let rendered = null;
    const onRendered = () => { if (rendered === null) rendered = performance.now(); };
    const changed = new Promise((resolve) => {
      const obs = new MutationObserver(() => {
        if (card.textContent !== before) { obs.disconnect(); resolve(performance.now()); }
      });
      obs.observe(card, { childList: true, characterData: true, subtree: true });
    });
    const t0 = performance.now();
    chart.on("rendered", onRendered);
    await fetch("/api/v1/llm/calls", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ calls: [{ provider: "openai", model: "gpt-4o-mini", duration_ms: 500, input_tokens: 10, output_tokens: 10 }] }),
    });
    const t1 = await changed;
    await new Promise((r) => setTimeout(r, 400));
    chart.off("rendered", onRendered);
    return { card: t1 - t0, chart: rendered === null ? null : rendered - t0 };
  }, key);
  live.push(r.card);
  if (r.chart !== null) redraw.push(r.chart);
  await page.waitForTimeout(300);
}
await browser.close();
const wasmKb = Math.round(wasm.reduce((n, e) => n + e.bytes, 0) / 1024);
// For scripts/bench.sh's goal table (see server/examples/load/figures.rs).
if (process.env.BENCH_FIGURES) {
  const { appendFileSync } = await import("node:fs");
  appendFileSync(process.env.BENCH_FIGURES, `overview_page_ms ${median(loads)}\nlive_card_ms ${median(live)}\n`);
  appendFileSync(process.env.BENCH_FIGURES, `overview_wasm_kb ${wasmKb}\n`);
}
const named = wasm.slice(0, 5).map((e) => `${e.name.replace("/pkg/", "")} ${Math.round(e.bytes / 1024)} KB`);
console.log(`overview first visit: ${wasmKb} KB of WASM as sent, ${wasm.length} file(s): ${named.join(", ")}${wasm.length > 5 ? ", …" : ""}`);
const fmt = (xs) => `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}, n=${xs.length})`;
console.log(`overview page, 30 days: navigation -> hydrated, cards and 6 charts drawn: ${fmt(loads)}`);
console.log(`live update: POST -> request card changed: ${fmt(live)}`);
if (redraw.length) console.log(`live update: POST -> tokens chart re-rendered: ${fmt(redraw)}`);
