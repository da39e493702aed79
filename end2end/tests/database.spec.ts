import { expect, test } from "@playwright/test";
import { hydrated, login, watchConsole } from "./helpers";

// scripts/test.sh serves with SIGHTLINE_DB_SLOW_QUERY_MS=5, so start-up's migrations and
// the demo data's writes leave slow statements to list.
test("the Database page shows both pools, charts, slow statements and pg_stat_statements", async ({ page }) => {
  const errors = watchConsole(page);
  await login(page, "/database");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Database" })).toBeVisible();
  await expect(page.getByText("Loading database figures…")).toHaveCount(0);

  for (const [pool, title] of [["api", "API pool"], ["writer", "Ingest writers"]]) {
    const card = page.getByTestId(`pool-${pool}`);
    await expect(card.locator(".stat-label")).toHaveText(title);
    await expect(card.locator(".stat-value")).toHaveText(/^\d+ \/ \d+ in use$/);
    await expect(card.getByRole("meter")).toBeAttached();
  }
  for (const id of ["chart-db-connections", "chart-db-acquire", "chart-db-slow"]) {
    await expect(page.locator(`#${id} canvas`).first()).toBeAttached();
  }
  const slow = page.getByTestId("slow-queries");
  await expect(slow.locator(".card-head")).toContainText("slower than 5 ms");
  await expect(slow.locator("tbody tr").first()).toBeVisible();
  // The embedded cluster preloads pg_stat_statements.
  const top = page.getByTestId("statements");
  await expect(top.locator("tbody tr").first()).toBeVisible();
  await expect(top.getByText("<insufficient privilege>")).toHaveCount(0);

  // The range lives in the URL; a day at most, and no custom day range.
  await expect(page.getByRole("form", { name: "Custom range" })).toHaveCount(0);
  await page.getByRole("link", { name: "15m" }).click();
  await expect(page).toHaveURL(/range=15m/);
  await expect(page.getByText("Last 15 minutes")).toBeVisible();
  await expect(page.getByTestId("pool-api")).toBeVisible();
  expect(errors).toEqual([]);
});
