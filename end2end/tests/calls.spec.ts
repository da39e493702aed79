import { expect, test } from "@playwright/test";
import { hydrated, login, watchConsole } from "./helpers";

test("reported calls appear live, open to details, and filter", async ({ page }) => {
  const errors = watchConsole(page);
  await login(page, "/calls");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "LLM calls" })).toBeVisible();
  await expect(page.getByText("Loading calls…")).toHaveCount(0);

  // A key for the reporting app, created through the API as the logged-in admin.
  const created = await page.request.post("/api/v1/keys", { data: { name: `calls-${Date.now()}` } });
  expect(created.status()).toBe(201);
  const secret = (await created.json()).secret as string;
  const session = `e2e-${Date.now()}`;
  const report = await page.request.post("/api/v1/llm/calls", {
    headers: { Authorization: `Bearer ${secret}` },
    data: {
      calls: [
        {
          provider: "openai",
          model: "gpt-4o-mini",
          duration_ms: 1250,
          ttft_ms: 250,
          input_tokens: 1000,
          output_tokens: 200,
          session_id: session,
          metadata: { tenant: "acme" },
        },
        {
          provider: "anthropic",
          model: "claude-sonnet-4",
          status: "error",
          error_message: "upstream overloaded",
          duration_ms: 90,
          session_id: session,
        },
      ],
    },
  });
  expect(report.status()).toBe(200);

  // No reload: the rows arrive over the live stream.
  const row = page.getByRole("row").filter({ hasText: "gpt-4o-mini" }).filter({ hasText: session });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("1.25 s");
  await expect(row).toContainText("$0.000270");
  await expect(row).toContainText("200.0");
  const errorRow = page.getByRole("row").filter({ hasText: "claude-sonnet-4" }).filter({ hasText: session });
  await expect(errorRow).toContainText("Error");

  // Details open and close from the keyboard.
  const opener = errorRow.getByRole("button");
  await opener.focus();
  await page.keyboard.press("Enter");
  await expect(opener).toHaveAttribute("aria-expanded", "true");
  await expect(page.getByText("upstream overloaded")).toBeVisible();
  await page.keyboard.press("Enter");
  await expect(page.getByText("upstream overloaded")).toHaveCount(0);

  // Filter by status: only the failed call of this session remains.
  await page.getByLabel("Session").fill(session);
  await page.getByLabel("Status").selectOption("error");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByRole("row").filter({ hasText: session })).toHaveCount(1);
  await expect(page.getByRole("row").filter({ hasText: "claude-sonnet-4" })).toHaveCount(1);
  // The filters are in the URL: a reload (or a shared link) shows the same view.
  await expect(page).toHaveURL(new RegExp(`status=error`));
  await expect(page).toHaveURL(new RegExp(`session_id=${session}`));
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel("Session")).toHaveValue(session);
  await expect(page.getByLabel("Status")).toHaveValue("error");
  await expect(page.getByRole("row").filter({ hasText: session })).toHaveCount(1);
  // A recent time window still holds both calls of the session.
  await page.goto(`/calls?session_id=${session}&since=1m`);
  await hydrated(page);
  await expect(page.getByRole("row").filter({ hasText: session })).toHaveCount(2);
  expect(errors).toEqual([]);
});
