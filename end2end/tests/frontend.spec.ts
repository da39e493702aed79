import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { expect, test } from "@playwright/test";
import { hydrated, login, watchConsole } from "./helpers";

// Another site on its own origin (scripts/test.sh allows it with SIGHTLINE_BROWSER_ORIGINS):
// a product page that includes /sdk/vitals.js with a public browser key, throws on a click
// and calls an API that fails.
const SHOP_PORT = Number(process.env.E2E_SHOP_PORT ?? 3198);

function shopPage(sightline: string, key: string, site: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>
<script async src="${sightline}/sdk/vitals.js" data-key="${key}" data-site="${site}"></script></head>
<body><h1 style="font-size:64px">Product 42</h1><p>${"A very fine product. ".repeat(40)}</p>
<button id="buy" onclick="fetch('/api/cart', {method: 'POST'}); throw new Error('e2e checkout exploded')">Buy</button>
</body></html>`;
}

async function startShop(sightline: string, key: string, site: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url?.startsWith("/api/")) {
      res.writeHead(500, { "content-type": "application/json" }).end('{"error":"down"}');
      return;
    }
    res.writeHead(200, { "content-type": "text/html" }).end(shopPage(sightline, key, site));
  });
  await new Promise<void>((ok) => server.listen(SHOP_PORT, "127.0.0.1", ok));
  expect((server.address() as AddressInfo).port).toBe(SHOP_PORT);
  return server;
}

test("a site's vitals, errors and failed calls appear on the Frontend page, beside the dashboard's own", async ({ page, baseURL }) => {
  const errors = watchConsole(page);
  await login(page, "/frontend");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Frontend" })).toBeVisible();

  const created = await page.request.post("/api/v1/keys", {
    data: { name: `shop-browser-${Date.now()}`, scopes: ["browser"] },
  });
  expect(created.status()).toBe(201);
  const key = (await created.json()).secret as string;
  const site = `e2e-shop-${Date.now()}`;
  const shop = await startShop(baseURL!, key, site);
  try {
    await page.goto(`http://127.0.0.1:${SHOP_PORT}/products/42?ref=mail`);
    await page.waitForFunction(() => (window as unknown as { sightlineVitals?: object }).sightlineVitals);
    await page.click("#buy");
    // The page is hidden (as when its tab is left): the SDK sends its final vitals.
    await page.waitForTimeout(500);
    await page.evaluate(() => {
      Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    await page.waitForTimeout(500);
  } finally {
    shop.close();
  }
  // The shop page's own error is the page's, not the dashboard's.
  errors.length = 0;

  await page.goto(`/frontend?site=${site}`);
  await hydrated(page);
  const picker = page.getByTestId("site-picker");
  await expect(picker.locator(`option[value="${site}"]`)).toHaveCount(1);
  // The dashboard reported its own page views as the site `sightline`.
  await expect(picker.locator('option[value="sightline"]')).toHaveCount(1);

  for (const vital of ["lcp", "fcp", "ttfb", "inp"]) {
    const card = page.getByTestId(`vital-${vital}`);
    await expect(card.locator(".stat-value")).not.toHaveText("—");
    await expect(card.locator(".stat-foot").first()).toContainText("1 page load");
  }
  await expect(page.getByTestId("vital-cls").locator(".stat-value")).toHaveText("0");
  await expect(page.getByTestId("vital-cls").locator(".stat-value")).toHaveClass(/rating-good/);
  for (const id of ["chart-lcp", "chart-inp", "chart-cls", "chart-fcp", "chart-ttfb", "chart-browser-errors"]) {
    await expect(page.locator(`#${id} canvas`).first()).toBeAttached();
  }
  const groups = page.getByTestId("error-groups");
  await expect(groups).toContainText("e2e checkout exploded");
  await expect(groups).toContainText("POST /api/cart → 500");
  const pages = page.getByTestId("pages-table");
  await expect(pages.locator("tbody tr")).toHaveCount(1);
  await expect(pages).toContainText("/products/:id");

  // A page opens alone from the keyboard, and the filter clears.
  await pages.getByRole("button", { name: "/products/:id" }).focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/page=%2Fproducts/);
  await expect(page.getByTestId("page-filter")).toContainText("/products/:id");
  await page.getByRole("button", { name: "Show all pages" }).click();
  await expect(page.getByTestId("page-filter")).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("a range without reports says how to add the script", async ({ page }) => {
  await login(page, "/frontend");
  await page.goto("/frontend?from=2020-01-01&to=2020-01-02");
  await hydrated(page);
  await expect(page.getByTestId("no-sites")).toContainText("/sdk/vitals.js");
});
