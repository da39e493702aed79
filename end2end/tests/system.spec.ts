import { expect, test } from "@playwright/test";
import { hydrated, login, watchConsole } from "./helpers";

test("the System page shows this host live: the CPU value changes without a reload", async ({ page }) => {
  const errors = watchConsole(page);
  await login(page, "/system");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "System" })).toBeVisible();
  await expect(page.getByText("Loading system metrics…")).toHaveCount(0);

  // The server's own host is picked, with its facts.
  const hosts = await (await page.request.get("/api/v1/system/hosts")).json();
  const local = hosts.find((h: { local: boolean }) => h.local);
  expect(local).toBeTruthy();
  await expect(page.getByTestId("host-picker")).toHaveValue(local.host);
  await expect(page.getByTestId("host-info")).toContainText(`${local.info.cores} cores`);

  // A marker that a reload would wipe; the CPU card must change while it stays.
  await page.evaluate(() => ((window as unknown as { __noReload: number }).__noReload = 1));
  const cpu = page.getByTestId("card-cpu").locator(".stat-value");
  await expect(cpu).toHaveText(/^\d+\.\d %$/);
  const first = await cpu.textContent();
  await expect
    .poll(async () => cpu.textContent(), { timeout: 20_000, intervals: [250] })
    .not.toBe(first);
  expect(await page.evaluate(() => (window as unknown as { __noReload?: number }).__noReload)).toBe(1);

  // Charts are drawn.
  for (const id of ["chart-cpu", "chart-memory", "chart-disk-use", "chart-disk-io", "chart-network"]) {
    await expect(page.locator(`#${id} canvas`).first()).toBeAttached();
  }

  // Without a GPU the page says so (and with one, it lists them).
  const gpus = await (await page.request.get(`/api/v1/system/hosts/${encodeURIComponent(local.host)}/gpus`)).json();
  if (gpus.gpus.length === 0) {
    await expect(page.getByTestId("no-gpu")).toContainText("No GPU detected");
  } else {
    await expect(page.locator("#chart-gpu-util canvas").first()).toBeAttached();
  }

  // The process table sorts by a header, from the keyboard too.
  const memory = page.getByRole("columnheader", { name: /Memory/ });
  await memory.getByRole("button").focus();
  await page.keyboard.press("Enter");
  await expect(memory).toHaveAttribute("aria-sort", "descending");
  const table = page.getByTestId("process-table");
  await expect(table.locator("tbody tr").first()).toBeVisible();
  expect(await table.locator("tbody tr").count()).toBeGreaterThan(1);
  expect(errors).toEqual([]);
});

test("the range is kept in the URL and an agent's host appears in the picker", async ({ page }) => {
  await login(page, "/system");
  await hydrated(page);
  // An agent reports through the API with a key.
  const created = await page.request.post("/api/v1/keys", { data: { name: `agent-${Date.now()}` } });
  const secret = (await created.json()).secret as string;
  const now = Date.now();
  const samples = [2, 1, 0].map((ago) => ({
    time: new Date(now - ago * 1000).toISOString(),
    cpu: { total: 42.5, cores: [40, 45], load1: 0.4, load5: 0.3, load15: 0.2 },
    memory: { total: 8 * 2 ** 30, used: 3 * 2 ** 30, available: 5 * 2 ** 30, free: 1 * 2 ** 30, cached: 2 * 2 ** 30, buffers: 0, swap_total: 0, swap_used: 0 },
    filesystems: [{ mount: "/", device: "vda1", fs_type: "ext4", total: 100 * 2 ** 30, used: 40 * 2 ** 30 }],
    processes: [{ pid: 7, name: "worker", cpu: 12.5, memory: 1 * 2 ** 28 }],
  }));
  const posted = await page.request.post("/api/v1/system/samples", {
    headers: { Authorization: `Bearer ${secret}` },
    data: { host: { hostname: "e2e-agent", os: "Debian GNU/Linux", os_version: "12", kernel: "6.1", arch: "x86_64", cpu_model: "Test CPU", cores: 2, memory_total: 8 * 2 ** 30, uptime_s: 3600 }, samples },
  });
  expect(posted.status()).toBe(200);

  await page.getByRole("link", { name: "1h", exact: true }).click();
  await expect(page).toHaveURL(/range=1h/);
  await page.reload();
  await hydrated(page);
  await expect(page.getByRole("link", { name: "1h", exact: true })).toHaveAttribute("aria-current", "true");

  await page.getByTestId("host-picker").selectOption("e2e-agent");
  await expect(page).toHaveURL(/host=e2e-agent/);
  await expect(page).toHaveURL(/range=1h/);
  await expect(page.getByTestId("host-info")).toContainText("Test CPU · 2 cores");
  await expect(page.getByTestId("card-cpu").locator(".stat-value")).toHaveText("42.5 %");
  await expect(page.getByTestId("process-table")).toContainText("worker");
  await expect(page.getByTestId("no-gpu")).toContainText("No GPU detected");
});
