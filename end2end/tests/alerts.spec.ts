import { expect, test } from "@playwright/test";
import { hydrated, login, watchConsole } from "./helpers";

test("the rule form shows field errors beside their fields and keeps what was typed", async ({ page }) => {
  const errors = watchConsole(page);
  await login(page, "/alerts");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 2, name: "Rules" })).toBeVisible();
  // The defaults from the seeds are installed.
  await expect(page.locator("#rules")).toContainText("CPU high");
  await expect(page.locator("#rules")).toContainText("Budget 100 %");

  const name = `e2e bad ${Date.now()}`;
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.locator("#rule-threshold").fill("high");
  await page.getByRole("button", { name: "Create rule" }).click();
  await expect(page.locator("#rule-threshold-error")).toHaveText(/must be a number/);
  await expect(page.locator("#rule-threshold")).toHaveAttribute("aria-invalid", "true");

  // The server's own checks: a negative `for`, submitted from the keyboard.
  await page.locator("#rule-threshold").fill("80");
  await page.locator("#rule-for").fill("-5m");
  await page.locator("#rule-for").press("Enter");
  await expect(page.locator("#rule-for-error")).toHaveText(/not a duration/);
  await expect(page.locator("#rule-threshold-error")).toHaveText("");
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue(name);

  // The metric list shows units and what exists now.
  await expect(page.locator("#rule-metric option", { hasText: "GPU temperature" })).toHaveCount(1);
  await expect(page.locator("#rule-metric-now")).toContainText(/Now: |No data/);
  expect(errors.filter((e) => !e.includes("status of 422"))).toEqual([]);
});

test("a created rule fires: a toast and the bell count appear live, and the history lists it", async ({ page }) => {
  await login(page, "/alerts");
  await hydrated(page);
  const before = Number((await page.locator("#bell-count").textContent({ timeout: 1000 }).catch(() => "0")) ?? "0");
  const name = `e2e cpu ${Date.now()}`;
  // The server samples its own host every second; CPU >= 0 % holds at once.
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.locator("#rule-metric").selectOption("system.cpu.utilization");
  await page.locator("#rule-comparator").selectOption(">=");
  await page.locator("#rule-threshold").fill("0");
  await page.locator("#rule-for").fill("0s");
  await page.locator("#rule-severity").selectOption("critical");
  await page.getByLabel(/In the app/).check();
  await page.getByRole("button", { name: "Create rule" }).click();
  await expect(page.getByRole("status").filter({ hasText: `Rule “${name}” saved.` })).toBeVisible();

  const toast = page.locator(".toast", { hasText: name });
  await expect(toast).toBeVisible({ timeout: 15_000 });
  await expect(toast).toContainText("[FIRING");
  await expect(page.locator("#bell-count")).toHaveText(String(before + 1));
  await expect(page.locator("#active-alerts")).toContainText(name);
  await page.waitForTimeout(300);
  await page.screenshot({ path: "screenshots/alerts-firing-wide-light.png", fullPage: true });

  // The bell lists it; marking read clears the count.
  await page.locator("#bell").click();
  await expect(page.getByRole("dialog", { name: "Notifications" })).toContainText(name);
  await page.getByRole("button", { name: "Mark all read" }).click();
  await expect(page.locator("#bell-count")).toHaveCount(0);
  await page.locator("#bell").click();

  // The rule's page: its chart with the threshold, and its history.
  await page.locator("#rules").getByRole("link", { name }).click();
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  await expect(page.locator("#chart-rule canvas")).toBeAttached({ timeout: 10_000 });
  await expect(page.locator("#history")).toContainText("firing");

  // The history page, filtered to the rule.
  await page.goto("/alerts/history");
  await hydrated(page);
  await page.locator("#history-rule").selectOption({ label: name });
  await expect(page).toHaveURL(/rule_id=\d+/);
  // One firing per host the server has samples of; every row is this rule's.
  const rows = page.locator("#history tbody tr");
  await expect(rows.first()).toContainText(name);
  for (const text of await rows.allTextContents()) expect(text).toContain(name);
  await page.locator("#history-state").selectOption("resolved");
  await expect(page.getByText("No transitions yet.")).toBeVisible();

  // Deleting takes two steps; the rule stops firing with it.
  await page.goto("/alerts");
  await hydrated(page);
  const row = page.locator("#rules tr", { hasText: name });
  await row.getByRole("button", { name: "Delete…" }).click();
  await row.getByRole("button", { name: "Delete", exact: true }).click();
  await expect(page.locator("#rules")).not.toContainText(name);
});

test("anomaly and forecast rules: the form shows each kind's own fields, names a bad baseline and lists the condition", async ({ page }) => {
  const errors = watchConsole(page);
  await login(page, "/alerts");
  await hydrated(page);
  // The forecast default from the seeds is installed.
  await expect(page.locator("#rules")).toContainText("Disk predicted full within a day");
  await expect(page.locator("#rules")).toContainText(/predicted > 95 % within 1d/);

  const name = `e2e unusual cost ${Date.now()}`;
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.locator("#rule-metric").selectOption("llm.cost");
  await expect(page.locator("#rule-baseline")).toHaveCount(0);
  await page.locator("#rule-kind").selectOption("anomaly");
  await expect(page.locator("label[for=rule-threshold]")).toHaveText(/MADs/);
  await expect(page.locator("#rule-horizon")).toHaveCount(0);
  await page.locator("#rule-threshold").fill("4");
  await page.locator("#rule-baseline").fill("5m");
  await page.locator("#rule-min-delta").fill("0.5");
  await page.locator("#rule-min-delta").press("Enter");
  await expect(page.locator("#rule-baseline-error")).toHaveText(/between 15m and 1d/);
  await expect(page.locator("#rule-baseline")).toHaveAttribute("aria-invalid", "true");
  await page.locator("#rule-baseline").fill("3h");
  await page.getByRole("button", { name: "Create rule" }).click();
  await expect(page.getByRole("status").filter({ hasText: `Rule “${name}” saved.` })).toBeVisible();
  const row = page.locator("#rules tr", { hasText: name });
  await expect(row).toContainText("above its usual band (4 MADs of the last 3h)");

  // Editing brings the kind's settings back; a forecast asks for a horizon instead.
  await row.getByRole("button", { name: /Edit/ }).click();
  await expect(page.locator("#rule-kind")).toHaveValue("anomaly");
  await expect(page.locator("#rule-min-delta")).toHaveValue("0.5");
  await page.locator("#rule-kind").selectOption("forecast");
  await expect(page.locator("#rule-min-delta")).toHaveCount(0);
  await page.locator("#rule-threshold").fill("100");
  await page.locator("#rule-horizon").fill("2d");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(row).toContainText("predicted > 100 USD within 2d (trend of the last 3h)");
  await page.screenshot({ path: "screenshots/alerts-kinds-wide-light.png", fullPage: true });

  await row.getByRole("link", { name }).click();
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  await expect(page.locator("#chart-rule canvas")).toBeAttached({ timeout: 10_000 });
  expect(errors.filter((e) => !e.includes("status of 422"))).toEqual([]);
});

test("channels: bad URLs are named, and the in-app channel's test is delivered and logged", async ({ page }) => {
  await login(page, "/settings/channels");
  await hydrated(page);
  await expect(page.locator("#channels")).toContainText("In the app");
  await page.getByLabel("Name", { exact: true }).fill(`hook ${Date.now()}`);
  await page.locator("#channel-url").fill("ftp://example.com/hook");
  await page.getByRole("button", { name: "Add channel" }).click();
  await expect(page.locator("#channel-url-error")).toHaveText(/http/);

  const inApp = page.locator("#channels li", { hasText: "In the app" }).first();
  await inApp.getByRole("button", { name: "Send test" }).click();
  await expect(inApp.getByRole("status")).toHaveText(/Test delivered/);
  await inApp.locator("summary").click();
  await expect(inApp.locator("table")).toContainText("test");
  await expect(page.locator(".toast", { hasText: "Test notification" })).toBeVisible();
});
