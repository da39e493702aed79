import { expect, test } from "@playwright/test";
import { hydrated, login, watchConsole } from "./helpers";

/** The UI's count format: thin-space thousands. */
function count(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "\u2009");
}

/** The UI's money format for micro-USD. */
function usd(micros: number): string {
  const v = micros / 1_000_000;
  if (micros === 0) return "$0";
  if (Math.abs(v) >= 1) return `$${v.toFixed(2)}`;
  if (Math.abs(v) >= 0.01) return `$${v.toFixed(4)}`;
  return `$${v.toFixed(6)}`;
}

test("the cards show the API's totals, charts draw, and a new call moves the cards live", async ({ page }) => {
  const errors = watchConsole(page);
  await login(page, "/");
  await page.goto("/?range=24h");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  await expect(page.getByText("Loading figures…")).toHaveCount(0);

  const tz = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
  const api = await (await page.request.get(`/api/v1/analytics/overview?range=24h&tz=${encodeURIComponent(tz)}`)).json();
  expect(api.totals.requests).toBeGreaterThan(0); // test.sh seeds demo data first
  const requests = page.getByTestId("card-requests").locator(".stat-value");
  await expect(requests).toHaveText(count(api.totals.requests));
  await expect(page.getByTestId("card-cost").locator(".stat-value")).toHaveText(usd(api.totals.cost_micros));
  // Cards compare with the previous period (the seeded week covers it).
  expect(api.previous.requests).toBeGreaterThan(0);
  await expect(page.getByTestId("card-requests").locator(".stat-foot")).toContainText("%");

  // The charts are drawn (ECharts renders into a canvas) and the range is in the URL.
  for (const id of ["chart-tokens", "chart-cost", "chart-latency", "chart-errors", "chart-models", "chart-provider-requests", "chart-provider-cost", "chart-quality"]) {
    await expect(page.locator(`#${id} canvas`).first()).toBeAttached();
  }
  await expect(page.getByRole("link", { name: "24h", exact: true })).toHaveAttribute("aria-current", "true");

  // A call posted through the API moves the request card without a reload.
  const created = await page.request.post("/api/v1/keys", { data: { name: `overview-${Date.now()}` } });
  const secret = (await created.json()).secret as string;
  const before = await requests.textContent();
  const report = await page.request.post("/api/v1/llm/calls", {
    headers: { Authorization: `Bearer ${secret}` },
    data: { calls: [{ provider: "openai", model: "gpt-4o-mini", duration_ms: 640, input_tokens: 120, output_tokens: 80 }] },
  });
  expect(report.status()).toBe(200);
  const after = count(Number(before!.replace(/\u2009/g, "")) + 1);
  await expect(requests).toHaveText(after);
  await expect(page.locator(".vtable").getByRole("row").filter({ hasText: "640 ms" }).first()).toBeVisible();

  // The model metric switch is keyboard-usable.
  const tps = page.getByRole("button", { name: "Tokens/s" });
  await tps.focus();
  await page.keyboard.press("Enter");
  await expect(tps).toHaveAttribute("aria-pressed", "true");
  expect(errors).toEqual([]);
});

test("a preset or a custom range is kept in the URL", async ({ page }) => {
  await login(page, "/");
  await hydrated(page);
  await page.getByRole("link", { name: "30d", exact: true }).click();
  await expect(page).toHaveURL(/range=30d/);
  await expect(page.getByText("Last 30 days").first()).toBeVisible();
  await page.getByLabel("From", { exact: true }).fill("2026-01-01");
  await page.getByLabel("To", { exact: true }).fill("2026-01-07");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/from=2026-01-01&to=2026-01-07/);
  await expect(page.getByRole("heading", { name: "No calls in this range" })).toBeVisible();
  await expect(page.getByTestId("card-requests").locator(".stat-value")).toHaveText("0");
  await page.reload();
  await hydrated(page);
  await expect(page.getByText("2026-01-01 to 2026-01-07").first()).toBeVisible();
});

test("sessions list their totals and open to a timeline", async ({ page }) => {
  const errors = watchConsole(page);
  await login(page, "/sessions");
  const created = await page.request.post("/api/v1/keys", { data: { name: `sessions-${Date.now()}` } });
  const secret = (await created.json()).secret as string;
  const session = `e2e-session-${Date.now()}`;
  const now = Date.now();
  const calls = [0, 1, 2].map((i) => ({
    time: new Date(now - 60_000 + i * 5_000).toISOString(),
    provider: "anthropic",
    model: "claude-haiku-4",
    duration_ms: 1000 + i * 500,
    input_tokens: 100,
    output_tokens: 50,
    session_id: session,
    user_id: "e2e-user",
  }));
  const report = await page.request.post("/api/v1/llm/calls", {
    headers: { Authorization: `Bearer ${secret}` },
    data: { calls },
  });
  expect(report.status()).toBe(200);
  await page.goto("/sessions?range=1h");
  await hydrated(page);
  const row = page.getByRole("row").filter({ hasText: session });
  await expect(row).toContainText("e2e-user");
  await expect(row).toContainText("450");
  // Users from rollups: e2e-user is active now, and among the top users by tokens.
  expect(Number(await page.getByTestId("active-1h").locator(".stat-value").textContent())).toBeGreaterThanOrEqual(1);
  await expect(page.getByTestId("session-p50").locator(".stat-value")).not.toHaveText("—");
  const top = page.getByTestId("top-users");
  await expect(top.getByRole("heading", { name: "By tokens" })).toBeVisible();
  const first = top.getByRole("link").first();
  const name = (await first.textContent()) ?? "";
  expect(name).not.toBe("");
  await first.click();
  await expect(page).toHaveURL(new RegExp(`user=${encodeURIComponent(name)}`));
  await expect(page.getByRole("textbox", { name: "User" })).toHaveValue(name);
  await page.goto("/sessions?range=1h");
  await hydrated(page);
  await row.getByRole("link", { name: session }).click();
  await expect(page).toHaveURL(new RegExp(`/sessions/${session}`));
  await expect(page.getByRole("heading", { level: 1, name: session })).toBeVisible();
  await expect(page.locator(".timeline-bar")).toHaveCount(3);
  await expect(page.locator("table tbody tr")).toHaveCount(3);
  expect(errors).toEqual([]);
});
