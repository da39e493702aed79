import { expect, test } from "@playwright/test";
import { hydrated, login, watchConsole } from "./helpers";

// scripts/test.sh serves with SIGHTLINE_WORKER_LOST_AFTER=3s, so a silent worker turns
// lost within seconds.
test("the Workers panel shows heartbeats live and a silent worker turning lost", async ({ page }) => {
  const errors = watchConsole(page);
  const stamp = Date.now();
  const steady = `e2e-steady-${stamp}`;
  const silent = `e2e-silent-${stamp}`;
  await login(page, "/ai/workers");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Workers" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "AI serving" })).toBeVisible();
  await expect(page.getByText("Loading workers…")).toHaveCount(0);
  await expect(page.locator("#chart-workers canvas").first()).toBeAttached();

  const beat = (workers: object[]) =>
    page.request.post("/api/v1/workers/heartbeats", { data: { workers } });
  // Live: the page is not reloaded after these.
  let r = await beat([
    { name: steady, role: "e2e-role", state: "busy", task: "embedding batch 7", tasks_done: 41, cpu_percent: 63.5, batch_size: 12, batch_capacity: 32 },
    { name: silent, role: "e2e-role", state: "active", task: "chat" },
  ]);
  expect(r.status()).toBe(200);
  const steadyRow = page.getByTestId("worker-row").filter({ hasText: steady });
  const silentRow = page.getByTestId("worker-row").filter({ hasText: silent });
  await expect(steadyRow).toContainText("embedding batch 7");
  await expect(steadyRow).toContainText("63.5 %");
  // Batch efficiency: its batch against its capacity, and the mean in the list's head.
  await expect(steadyRow).toContainText("12 / 32 (38 %)");
  await expect(page.getByTestId("workers-summary")).toContainText("batches");
  await expect(steadyRow).toHaveAttribute("data-state", "busy");
  await expect(silentRow).toHaveAttribute("data-state", "active");
  const busy = page.getByTestId("workers-busy").locator(".stat-value");
  expect(Number(await busy.textContent())).toBeGreaterThanOrEqual(1);

  // One keeps beating; the other goes silent and is announced lost.
  for (let i = 0; i < 6; i++) {
    await page.waitForTimeout(1000);
    r = await beat([{ name: steady, state: "idle", task: "waiting" }]);
    expect(r.status()).toBe(200);
  }
  await expect(silentRow).toHaveAttribute("data-state", "lost", { timeout: 10_000 });
  await expect(steadyRow).toHaveAttribute("data-state", "idle");
  await expect(steadyRow).toContainText("e2e-role");
  expect(Number(await page.getByTestId("workers-lost").locator(".stat-value").textContent())).toBeGreaterThanOrEqual(1);

  // A lost worker can be forgotten, from the keyboard.
  const forget = silentRow.getByRole("button", { name: `Forget worker ${silent}` });
  await forget.focus();
  await page.keyboard.press("Enter");
  await expect(silentRow).toHaveCount(0);

  // A bad heartbeat is refused naming the field.
  r = await beat([{ name: "x", state: "sleeping" }]);
  expect(r.status()).toBe(422);
  expect((await r.json()).field).toBe("workers[0].state");
  expect(errors).toEqual([]);
});

test("the model health page shows each model's cache hit rate and its charts", async ({ page }) => {
  const errors = watchConsole(page);
  const model = `e2e-health-${Date.now()}`;
  await login(page, "/ai/models");
  await hydrated(page);
  const now = Date.now();
  const calls = Array.from({ length: 12 }, (_, i) => ({
    id: `${model}-${i}`,
    time: new Date(now - (i + 1) * 60_000).toISOString(),
    provider: "e2e",
    model,
    duration_ms: 800,
    ttft_ms: 120 + i,
    streaming_ms: 600,
    input_tokens: 10_000,
    cached_tokens: 4_000,
    output_tokens: 60,
    quality_score: 80,
  }));
  const r = await page.request.post("/api/v1/llm/calls", { data: { calls } });
  expect(r.status()).toBe(200);
  const fb = await page.request.post("/api/v1/feedback", { data: { call_id: `${model}-0`, rating: 4 } });
  expect(fb.status()).toBe(200);

  await page.getByRole("link", { name: "1h" }).click();
  await expect(page).toHaveURL(/range=1h/);
  const row = page.getByTestId("model-row").filter({ hasText: model });
  await expect(row.getByTestId("cache-hit-rate")).toHaveText("40.0 %");
  await expect(row).toContainText("4.00 (1)");
  await row.getByRole("button", { name: model }).click();
  await expect(row).toHaveClass(/selected/);
  await expect(page.getByRole("heading", { level: 2, name: `${model} · e2e` })).toBeVisible();
  for (const id of ["chart-model-cache", "chart-model-ttft", "chart-model-speed", "chart-model-quality"]) {
    await expect(page.locator(`#${id} canvas`).first()).toBeAttached();
  }
  await page.getByTestId("baseline-picker").selectOption("1d");
  await expect(page.getByText("drift against the day before")).toBeVisible();
  await expect(row.getByTestId("cache-hit-rate")).toHaveText("40.0 %");
  expect(errors).toEqual([]);
});

test("GPU use per request: a provider tied to a GPU from the form shows GPU-seconds and energy", async ({ page }) => {
  const errors = watchConsole(page);
  const stamp = Date.now();
  const host = `e2e-gpu-${stamp}`;
  const provider = `e2e-vllm-${stamp}`;
  await login(page, "/ai/models");
  await hydrated(page);
  // 40 one-second samples, GPU 0 at 80 % and 250 W; two calls of 10 s inside them.
  const start = Math.floor((Date.now() - 60_000) / 1000) * 1000;
  const samples = Array.from({ length: 40 }, (_, i) => ({
    time: new Date(start + i * 1000).toISOString(),
    cpu: { total: 10, cores: [10], load1: 0.1, load5: 0.1, load15: 0.1 },
    memory: { total: 2 ** 30, used: 2 ** 29, available: 2 ** 29, free: 2 ** 29, cached: 0, buffers: 0, swap_total: 0, swap_used: 0 },
    gpus: [{ index: 0, name: "E2E GPU", uuid: "GPU-e2e", utilization: 80, memory_utilization: 30, memory_used: 2 ** 30, memory_total: 2 ** 32, temperature_c: 60, power_w: 250, power_limit_w: 300 }],
  }));
  let r = await page.request.post("/api/v1/system/samples", {
    data: { host: { hostname: host, os: "Debian", os_version: "12", kernel: "6.1", arch: "x86_64", cpu_model: "E2E", cores: 1, memory_total: 2 ** 30, uptime_s: 60 }, samples },
  });
  expect(r.status()).toBe(200);
  const calls = [5, 20].map((at, i) => ({
    id: `${provider}-${i}`, time: new Date(start + at * 1000).toISOString(), provider,
    model: "llama-e2e", duration_ms: 10_000, input_tokens: 200, output_tokens: 500,
  }));
  r = await page.request.post("/api/v1/llm/calls", { data: { calls } });
  expect(r.status()).toBe(200);

  await page.getByRole("link", { name: "1h" }).click();
  const card = page.getByTestId("gpu-use");
  await expect(card.getByRole("heading", { name: "GPU use per request" })).toBeVisible();
  // A bad index is refused naming the field.
  await card.getByRole("textbox", { name: "Provider" }).fill(provider);
  await card.getByRole("textbox", { name: "Host" }).fill(host);
  await card.getByRole("spinbutton", { name: "GPU index" }).fill("-2");
  await card.getByRole("button", { name: "Tie to GPU" }).click();
  await expect(card.getByTestId("gpu-error")).toContainText("GPU:");
  await card.getByRole("spinbutton", { name: "GPU index" }).fill("0");
  await card.getByRole("spinbutton", { name: "GPU index" }).press("Enter");
  const row = card.getByTestId("gpu-model-row").filter({ hasText: "llama-e2e" });
  // Each call: 10 s × 80 % = 8 GPU-s, 10 s × 250 W = 0.694 Wh.
  await expect(row).toContainText("16.0 s");
  await expect(row).toContainText("8.00 s");
  await expect(row).toContainText("1.39 Wh");
  await expect(row).toContainText(`${host} #0`);
  await card.getByRole("button", { name: `Untie ${provider}` }).click();
  await expect(row).toHaveCount(0);
  expect(errors.filter((e) => !e.includes("status of 422"))).toEqual([]);
});
