import { expect, test } from "@playwright/test";
import { hydrated, login, watchConsole } from "./helpers";

test("create a key, see its secret once, use it, revoke it", async ({ page }) => {
  const errors = watchConsole(page);
  await login(page, "/settings/api-keys");
  await hydrated(page);

  const name = `e2e-key-${Date.now()}`;
  await page.getByLabel("Key name").fill(name);
  await page.getByRole("button", { name: "Create key" }).click();

  const secretBox = page.getByTestId("new-secret");
  await expect(secretBox).toHaveText(/^sl_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
  const secret = (await secretBox.textContent()) ?? "";
  await expect(page.getByText("it will not be shown again")).toBeVisible();

  const row = page.getByRole("row").filter({ hasText: name });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText(secret.slice(0, 11)); // the prefix
  await expect(row).toContainText("Active");
  await expect(row).not.toContainText(secret);

  // The secret authenticates against the API.
  const auth = { Authorization: `Bearer ${secret}` };
  const me = await page.request.get("/api/v1/auth/me", { headers: auth });
  expect(me.status()).toBe(200);
  expect(await me.json()).toMatchObject({ kind: "api_key", name });

  // After a reload the key is listed once, and its secret is nowhere on the page.
  await page.reload();
  await hydrated(page);
  await expect(row).toHaveCount(1);
  expect(await page.content()).not.toContain(secret);

  // Revoking asks for confirmation, then the key is marked and refused.
  await row.getByRole("button", { name: `Revoke key ${name}` }).click();
  await row.getByRole("button", { name: `Confirm revoking key ${name}` }).click();
  await expect(row).toContainText("Revoked");
  await expect(row.getByRole("button")).toHaveCount(0);
  const after = await page.request.get("/api/v1/auth/me", { headers: auth });
  expect(after.status()).toBe(401);
  expect(errors).toEqual([]);
});

test("the form is keyboard-usable and explains an empty name", async ({ page }) => {
  await login(page, "/settings/api-keys");
  await hydrated(page);
  const field = page.getByLabel("Key name");
  await field.focus();
  await field.press("Enter");
  await expect(page.locator("#key-name-error")).toHaveText(/Give the key a name/);
  await expect(field).toHaveAttribute("aria-invalid", "true");

  const name = `keyboard-${Date.now()}`;
  await field.fill(name);
  await field.press("Enter");
  await expect(page.getByTestId("new-secret")).toBeVisible();
  await expect(page.getByRole("row").filter({ hasText: name })).toHaveCount(1);
  await expect(field).toHaveValue("");
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByTestId("new-secret")).toHaveCount(0);
});

test("scopes and a host binding are chosen, shown and enforced", async ({ page }) => {
  const errors = watchConsole(page);
  await login(page, "/settings/api-keys");
  await hydrated(page);

  const name = `reader-${Date.now()}`;
  await page.getByLabel("Key name").fill(name);
  // Neither scope: explained, nothing created.
  await page.getByRole("checkbox", { name: /Ingest/ }).uncheck();
  await page.getByRole("button", { name: "Create key" }).click();
  await expect(page.locator("#key-name-error")).toHaveText(/Choose what the key may do/);
  await expect(page.getByTestId("new-secret")).toHaveCount(0);

  // Read only, bound to a host; the checkbox toggles from the keyboard.
  const read = page.getByRole("checkbox", { name: /Read/ });
  await read.focus();
  await page.keyboard.press("Space");
  await expect(read).toBeChecked();
  await page.getByLabel(/Bound to host/).fill("gpu-01");
  await page.getByRole("button", { name: "Create key" }).click();
  const secret = (await page.getByTestId("new-secret").textContent()) ?? "";
  const row = page.getByRole("row").filter({ hasText: name });
  await expect(row).toContainText("Read");
  await expect(row).not.toContainText("Ingest");
  await expect(row).toContainText("host: gpu-01");

  const auth = { Authorization: `Bearer ${secret}` };
  expect((await page.request.get("/api/v1/llm/calls", { headers: auth })).status()).toBe(200);
  const write = await page.request.post("/api/v1/llm/calls", {
    headers: auth,
    data: { calls: [] },
  });
  expect(write.status()).toBe(403);
  expect(await write.json()).toMatchObject({ error: "missing_scope" });
  expect(errors).toEqual([]);
});
