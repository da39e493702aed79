import { expect, test } from "@playwright/test";
import { ADMIN_PASSWORD, hydrated, login, watchConsole } from "./helpers";

test("visitors are sent to log in, then to the page they asked for", async ({ page }) => {
  const errors = watchConsole(page);
  await page.goto("/settings/api-keys");
  await expect(page).toHaveURL(/\/login\?next=%2Fsettings%2Fapi-keys$/);
  await expect(page.getByRole("heading", { name: "Log in" })).toBeVisible();
  await hydrated(page);

  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Wrong username or password.");

  // Keyboard only: type and press Enter.
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.getByLabel("Password").press("Enter");
  await expect(page).toHaveURL(/\/settings\/api-keys$/);
  await expect(page.getByRole("heading", { level: 1, name: "API keys" })).toBeVisible();
  await hydrated(page);
  expect(errors).toEqual([]);
});

test("the theme toggle responds once hydrated, changes colours and persists", async ({ page }) => {
  const errors = watchConsole(page);
  await page.emulateMedia({ colorScheme: "light" });
  await login(page);
  await hydrated(page);
  const html = page.locator("html");
  const toggle = page.getByRole("button", { name: /^Theme:/ });
  await expect(toggle).toHaveAccessibleName("Theme: System. Switch to Light");
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const lightBg = await background();

  await toggle.click();
  await expect(html).toHaveAttribute("data-theme", "light");
  await toggle.click();
  await expect(html).toHaveAttribute("data-theme", "dark");
  expect(await background()).not.toEqual(lightBg);

  await page.reload();
  await expect(html).toHaveAttribute("data-theme", "dark"); // applied before hydration
  await hydrated(page);
  await expect(toggle).toHaveAccessibleName("Theme: Dark. Switch to System");

  await toggle.click();
  await expect(html).not.toHaveAttribute("data-theme", /.*/);
  expect(await background()).toEqual(lightBg);
  expect(errors).toEqual([]);
});

test("logging out ends the session", async ({ page }) => {
  await login(page, "/settings/api-keys");
  await hydrated(page);
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/settings/api-keys");
  await expect(page).toHaveURL(/\/login\?next=/);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the login form and the pages still render", async ({ page }) => {
    await login(page, "/settings/api-keys");
    await expect(page.getByRole("heading", { level: 1, name: "API keys" })).toBeVisible();
    await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
  });
});
