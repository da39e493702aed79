import { expect, test } from "@playwright/test";
import { hydrated, login, watchConsole } from "./helpers";

/** Posts `n` requests of one route to `/api/v1/requests` with an ingest key. */
async function report(
  request: import("@playwright/test").APIRequestContext,
  secret: string,
  service: string,
  route: string,
  n: number,
  statusOf: (i: number) => number,
  ms: number,
) {
  const requests = Array.from({ length: n }, (_, i) => ({
    service,
    route,
    method: "GET",
    status: statusOf(i),
    duration_ms: ms + i,
  }));
  const r = await request.post("/api/v1/requests", {
    headers: { Authorization: `Bearer ${secret}` },
    data: { requests },
  });
  expect(r.status()).toBe(200);
  expect((await r.json()).accepted).toBe(n);
}

test("a service's requests appear on the Apps page with charts, slow and failing routes, live", async ({ page }) => {
  const errors = watchConsole(page);
  await login(page, "/apps");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Apps" })).toBeVisible();
  await expect(page.getByText("Loading application figures…")).toHaveCount(0);

  const created = await page.request.post("/api/v1/keys", { data: { name: `apps-${Date.now()}` } });
  const secret = (await created.json()).secret as string;
  const service = `e2e-shop-${Date.now()}`;
  await report(page.request, secret, service, "/cart/{id}", 40, () => 200, 20);
  await report(page.request, secret, service, "/checkout", 10, (i) => (i < 4 ? 503 : 200), 900);

  // Sightline's own requests are there already; the new service joins the picker live.
  const picker = page.getByTestId("service-picker");
  await expect(picker.locator("option", { hasText: "sightline" })).toHaveCount(1);
  await expect(picker.locator(`option[value="${service}"]`)).toHaveCount(1, { timeout: 15_000 });
  await picker.selectOption(service);
  await expect(page).toHaveURL(new RegExp(`service=${service}`));

  await expect(page.getByTestId("card-rps").locator(".stat-foot")).toHaveText("50 requests");
  await expect(page.getByTestId("card-errors").locator(".stat-value")).toHaveText("8.00 %");
  for (const id of ["chart-rps", "chart-latency", "chart-errors", "chart-concurrency"]) {
    await expect(page.locator(`#${id} canvas`).first()).toBeAttached();
  }
  await expect(page.getByTestId("slowest-routes").locator("li").first()).toContainText("GET /checkout");
  await expect(page.getByTestId("failing-routes").locator("li").first()).toContainText("40.00 %");
  const table = page.getByTestId("routes-table");
  await expect(table.locator("tbody tr")).toHaveCount(2);

  // More requests of the shown service arrive: the page follows without a reload.
  await page.evaluate(() => ((window as unknown as { __noReload: number }).__noReload = 1));
  await report(page.request, secret, service, "/cart/{id}", 25, () => 200, 20);
  await expect(page.getByTestId("card-rps").locator(".stat-foot")).toHaveText("75 requests", { timeout: 15_000 });
  expect(await page.evaluate(() => (window as unknown as { __noReload?: number }).__noReload)).toBe(1);

  // A route opens alone, from the keyboard, and the filter clears.
  await table.getByRole("button", { name: /\/checkout/ }).focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/route=%2Fcheckout/);
  await expect(page.getByTestId("route-filter")).toContainText("GET /checkout");
  await expect(page.getByTestId("card-rps").locator(".stat-foot")).toHaveText("10 requests");
  await page.getByRole("button", { name: "Show all routes" }).click();
  await expect(page.getByTestId("route-filter")).toHaveCount(0);
  await expect(page.getByTestId("card-rps").locator(".stat-foot")).toHaveText("75 requests");
  expect(errors).toEqual([]);
});

test("a range with no requests says how services report them", async ({ page }) => {
  await login(page, "/apps");
  await page.goto("/apps?from=2020-01-01&to=2020-01-02");
  await hydrated(page);
  await expect(page.getByTestId("no-services")).toContainText("POST /api/v1/requests");
});
