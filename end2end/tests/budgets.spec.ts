import { expect, Page, test } from "@playwright/test";
import { hydrated, login, watchConsole } from "./helpers";

/** Posts calls for `user` through the API, as the logged-in admin. */
async function postCalls(page: Page, user: string, n: number, costUsd: number) {
  const calls = Array.from({ length: n }, (_, i) => ({
    id: `${user}-${Date.now()}-${i}`,
    provider: "openai",
    model: "gpt-4o-mini",
    user_id: user,
    duration_ms: 120,
    input_tokens: 10,
    output_tokens: 5,
    cost: { total_usd: costUsd },
  }));
  const r = await page.request.post("/api/v1/llm/calls", { data: { calls } });
  expect(r.status()).toBe(200);
}

async function fillBudget(page: Page, name: string, user: string, limit: string, mode = "soft") {
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("User (any)").fill(user);
  await page.getByLabel("Period").selectOption("day");
  await page.getByLabel("Limit in").selectOption("usd");
  await page.getByLabel("Limit", { exact: true }).fill(limit);
  await page.locator("#budget-mode").selectOption(mode);
}

test("the form shows field errors, keeps what was typed, and a valid budget moves live", async ({ page }) => {
  const errors = watchConsole(page);
  await login(page, "/budgets");
  await hydrated(page);
  const user = `e2e-live-${Date.now()}`;
  const name = `Live ${user}`;

  // Bad input: the server's error appears beside its field; the values stay.
  await fillBudget(page, name, user, "0");
  await page.getByRole("button", { name: "Create budget" }).click();
  await expect(page.locator("#budget-limit-error")).toHaveText(/more than zero/);
  await expect(page.locator("#budget-limit")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByLabel("Name")).toHaveValue(name);
  await page.getByLabel("Limit", { exact: true }).fill("10");
  await page.getByLabel("Time zone").fill("Mars/Olympus");
  await page.getByLabel("Time zone").press("Enter");
  await expect(page.locator("#budget-timezone-error")).toHaveText(/not a time zone/);
  await expect(page.locator("#budget-limit-error")).toHaveText("");

  // Valid: it is listed with its bar at zero.
  await page.getByLabel("Time zone").fill("Europe/Berlin");
  await page.getByRole("button", { name: "Create budget" }).click();
  const item = page.getByTestId("budget-item").filter({ hasText: name });
  await expect(item).toHaveCount(1);
  await expect(item.getByTestId("budget-meter")).toHaveAttribute("aria-valuenow", "0");
  await expect(page.getByLabel("Name")).toHaveValue("");

  // Calls posted through the API move the bar without a reload: $4 of $10.
  await postCalls(page, user, 4, 1.0);
  await expect(item.getByTestId("budget-meter")).toHaveAttribute("aria-valuenow", "40", { timeout: 10_000 });
  await expect(item.getByTestId("budget-spent")).toHaveText("$4.00");
  // Crossing 50 % is recorded and listed.
  await postCalls(page, user, 2, 1.0);
  await expect(item.getByTestId("budget-meter")).toHaveAttribute("aria-valuenow", "60", { timeout: 10_000 });
  await expect(page.getByTestId("budget-events")).toContainText(`${name} reached 50 %`, { timeout: 10_000 });

  // Its own page charts the period.
  await item.getByRole("link", { name }).click();
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  await expect(page.locator("#chart-budget-period canvas")).toBeAttached({ timeout: 10_000 });
  await expect(page.locator("#chart-budget-history canvas")).toBeAttached();
  await page.waitForTimeout(700);
  await page.screenshot({ path: "screenshots/budget-detail-wide-light.png", fullPage: true });
  // The two refused saves are the only failed requests.
  expect(errors.filter((e) => !e.includes("status of 422"))).toEqual([]);
});

test("a hard budget at 100 % shows as blocking, and deleting takes two steps", async ({ page }) => {
  await login(page, "/budgets");
  await hydrated(page);
  const user = `e2e-hard-${Date.now()}`;
  const name = `Hard ${user}`;
  await fillBudget(page, name, user, "2", "hard");
  await page.getByRole("button", { name: "Create budget" }).click();
  const item = page.getByTestId("budget-item").filter({ hasText: name });
  await expect(item).toHaveCount(1);
  await expect(item.getByTestId("blocking")).toHaveCount(0);
  await postCalls(page, user, 2, 1.0);
  await expect(item.getByTestId("blocking")).toHaveText("blocking calls", { timeout: 10_000 });
  // The check API agrees.
  const check = await page.request.post("/api/v1/budgets/check", { data: { user, cost_usd: 0.01 } });
  expect(await check.json()).toMatchObject({ allowed: false, budget: { name } });

  // The Overview's budgets card shows it (it is the fullest budget).
  await page.goto("/");
  await hydrated(page);
  await expect(page.getByTestId("budgets-card")).toContainText(name, { timeout: 10_000 });

  await page.goto("/budgets");
  await hydrated(page);
  await item.getByRole("button", { name: "Delete…" }).click();
  await item.getByRole("button", { name: "Keep it" }).click();
  await expect(item).toHaveCount(1);
  await item.getByRole("button", { name: "Delete…" }).click();
  await item.getByRole("button", { name: "Delete for good" }).click();
  await expect(item).toHaveCount(0);
  await expect(page.getByRole("status")).toContainText(`Budget “${name}” deleted.`);
});

test("rate limits are edited in rows and saved together", async ({ page }) => {
  await login(page, "/budgets");
  await hydrated(page);
  const card = page.locator("section", { has: page.getByRole("heading", { name: "Rate limits" }) });
  await expect(card.getByText("Loading rate limits…")).toHaveCount(0);
  const before = await card.locator("tbody tr").count();
  await card.getByRole("button", { name: "Add a limit" }).click();
  const n = before + 1;
  await card.getByLabel(`Row ${n} per`).selectOption("model");
  await card.getByLabel(`Row ${n} which`).fill("e2e-model-*");
  // Neither limit set: refused, with the row named.
  await card.getByRole("button", { name: "Save rate limits" }).click();
  await expect(card.getByRole("alert").first()).toContainText(`Row ${n}: set requests or tokens per minute`);
  await card.getByLabel(`Row ${n} requests per minute`).fill("120");
  await card.getByRole("button", { name: "Save rate limits" }).click();
  await expect(card.getByRole("status")).toHaveText("Rate limits saved.");
  const r = await page.request.get("/api/v1/rate-limits");
  expect((await r.json()).limits).toContainEqual({
    subject: "model", value: "e2e-model-*", requests_per_minute: 120, tokens_per_minute: null,
  });
  // Removing it and saving leaves the others.
  await card.getByRole("button", { name: `Remove row ${n}` }).click();
  await card.getByRole("button", { name: "Save rate limits" }).click();
  await expect(card.getByRole("status")).toHaveText("Rate limits saved.");
  await expect(card.locator("tbody tr")).toHaveCount(before);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the form still submits and shows its errors", async ({ page }) => {
    await login(page, "/budgets");
    const user = `e2e-nojs-${Date.now()}`;
    const name = `No JS ${user}`;
    await fillBudget(page, name, user, "-5");
    await page.getByRole("button", { name: "Create budget" }).click();
    await page.waitForURL(/error_field=limit/);
    await expect(page.locator("#budget-limit-error")).toHaveText(/more than zero/);
    await expect(page.getByLabel("Name")).toHaveValue(name);
    await expect(page.getByLabel("User (any)")).toHaveValue(user);
    await expect(page.locator("#budget-mode")).toHaveValue("soft");
    await page.getByLabel("Limit", { exact: true }).fill("25");
    await page.getByRole("button", { name: "Create budget" }).click();
    await page.waitForURL(/saved=/);
    await expect(page.getByRole("status")).toContainText(`Budget “${name}” saved.`);
  });
});
