import { expect, test } from "@playwright/test";
import { hydrated, login } from "./helpers";

// Every page, light and dark, narrow and wide: no horizontal overflow, and a screenshot in
// end2end/screenshots/ for a person to look at.
const viewports = [
  { name: "narrow", width: 360, height: 740 },
  { name: "wide", width: 1280, height: 800 },
];
const schemes = ["light", "dark"] as const;

for (const vp of viewports) {
  for (const scheme of schemes) {
    test(`pages fit a ${vp.name} screen in ${scheme} mode`, async ({ page }) => {
      test.setTimeout(120_000);
      await page.setViewportSize({ width: vp.width, height: vp.height });
      await page.emulateMedia({ colorScheme: scheme });
      await page.goto("/login");
      await hydrated(page);
      await page.screenshot({ path: `screenshots/login-${vp.name}-${scheme}.png`, fullPage: true });
      await login(page, "/settings/api-keys");
      await hydrated(page);
      await expect(page.getByRole("heading", { level: 2, name: "Keys" })).toBeVisible();
      await expect(page.getByText("Loading API keys…")).toHaveCount(0);
      for (const path of ["/settings/api-keys", "/", "/calls", "/sessions", "/budgets", "/system", "/apps", "/frontend", "/database", "/reports", "/benchmarks", "/ai/workers", "/ai/models", "/alerts", "/alerts/history", "/settings/providers", "/settings/channels"]) {
        await page.goto(path);
        await hydrated(page);
        await page.waitForLoadState("networkidle");
        // Let chart animations settle before the picture.
        await page.waitForTimeout(700);
        const overflow = await page.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        );
        expect(overflow, `${path} overflows horizontally`).toBeLessThanOrEqual(0);
        const file = path === "/" ? "overview" : path.split("/").pop();
        await page.screenshot({ path: `screenshots/${file}-${vp.name}-${scheme}.png`, fullPage: true });
      }
    });
  }
}
