import { expect, test } from "@playwright/test";
import { hydrated, login, watchConsole } from "./helpers";

test("a provider is added from the keyboard, its key never shown, then edited and deleted", async ({ page }) => {
  const errors = watchConsole(page);
  await login(page, "/settings/providers");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Providers" })).toBeVisible();
  await expect(page.getByText("Loading providers…")).toHaveCount(0);

  const name = `e2e-${Date.now()}`;
  // An invalid URL is refused with the server's reason.
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Base URL").fill("ftp://example.invalid");
  await page.getByLabel("Provider API key").fill("sk-e2e-secret-9876");
  await page.getByLabel("Provider API key").press("Enter");
  await expect(page.getByRole("alert").filter({ hasText: "base_url" })).toBeVisible();

  await page.getByLabel("Base URL").fill("http://127.0.0.1:9/");
  await page.getByLabel("API dialect").selectOption("anthropic");
  await page.getByLabel("Base URL").press("Enter");
  await expect(page.getByRole("status").filter({ hasText: `/proxy/${name}/v1` })).toBeVisible();
  const row = page.getByRole("row").filter({ hasText: name });
  await expect(row).toContainText("Anthropic");
  await expect(row).toContainText("…9876");
  await expect(page.getByText("sk-e2e-secret-9876")).toHaveCount(0);
  // The form was cleared, so the key is not left in the page either.
  await expect(page.getByLabel("Provider API key")).toHaveValue("");

  // Edit: the name is fixed, an empty key keeps the stored one.
  await row.getByRole("button", { name: `Edit provider ${name}` }).click();
  await expect(page.getByRole("heading", { name: "Edit provider" })).toBeVisible();
  await expect(page.getByLabel("Name")).toHaveValue(name);
  await page.getByLabel("Base URL").fill("http://127.0.0.1:9/gateway/");
  await page.getByRole("button", { name: "Save provider" }).click();
  await expect(row).toContainText("http://127.0.0.1:9/gateway/");
  await expect(row).toContainText("…9876");

  // Another host needs the key again, so a stored key never follows an edited URL.
  await row.getByRole("button", { name: `Edit provider ${name}` }).click();
  await page.getByLabel("Base URL").fill("http://127.0.0.1:10/");
  await page.getByRole("button", { name: "Save provider" }).click();
  await expect(page.locator("#provider-error")).toContainText("enter the provider's API key again");
  await expect(row).toContainText("http://127.0.0.1:9/gateway/");
  await page.getByLabel("Provider API key").fill("sk-e2e-other-5432");
  await page.getByRole("button", { name: "Save provider" }).click();
  await expect(row).toContainText("http://127.0.0.1:10/");
  await expect(row).toContainText("…5432");

  // Delete asks first.
  await row.getByRole("button", { name: `Delete provider ${name}` }).click();
  await page.getByRole("button", { name: `Confirm deleting provider ${name}` }).click();
  await expect(page.getByRole("row").filter({ hasText: name })).toHaveCount(0);
  // The browser logs the deliberate 422 above; nothing else may go wrong.
  expect(errors.filter((e) => !e.includes("status of 422"))).toEqual([]);
});
