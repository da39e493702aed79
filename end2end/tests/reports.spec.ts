import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { hydrated, login, watchConsole } from "./helpers";

// scripts/test.sh seeds demo calls over the last days before the browser tests run.
test("the Reports page previews the figures and downloads CSV and JSON exports", async ({ page }) => {
  const errors = watchConsole(page);
  await login(page, "/reports");
  await page.goto("/reports?range=7d");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Reports" })).toBeVisible();
  await expect(page.getByText("Loading the report…")).toHaveCount(0);

  const summary = page.getByTestId("report-summary");
  await expect(summary.locator(".stat-label")).toHaveText(["Requests", "Tokens", "Cost", "p95 latency", "Error rate"]);
  await expect(summary.locator(".stat-value").first()).not.toHaveText("0");
  const groups = page.getByTestId("report-groups");
  await expect(groups.locator("tbody tr").first()).toBeVisible();

  // The breakdown is a keyboard-usable select; the preview follows it.
  await page.getByLabel("Break down by").selectOption("provider");
  await expect(groups.locator("tbody tr").first()).toBeVisible();

  const csv = page.waitForEvent("download");
  await page.getByTestId("download-csv").click();
  const file = await csv;
  expect(file.suggestedFilename()).toMatch(/^sightline-aggregates-\d{8}T\d{4}-\d{8}T\d{4}\.csv$/);
  const lines = readFileSync(await file.path(), "utf8").trim().split("\n");
  expect(lines[0]).toMatch(/^group,bucket_start,requests,/);
  expect(lines.some((l) => l.includes(",total,"))).toBe(true);

  const pdf = page.waitForEvent("download");
  await page.getByTestId("download-pdf").click();
  const pdfFile = await pdf;
  expect(pdfFile.suggestedFilename()).toMatch(/^sightline-report-.*\.pdf$/);
  expect(readFileSync(await pdfFile.path()).subarray(0, 5).toString()).toBe("%PDF-");

  // Every call: the breakdown and buckets do not apply, and there is no PDF of calls.
  await page.getByRole("combobox", { name: "Export" }).selectOption("calls");
  await expect(page.getByLabel("Break down by")).toBeDisabled();
  await expect(page.getByTestId("download-pdf")).toHaveCount(0);
  const json = page.waitForEvent("download");
  await page.getByTestId("download-json").click();
  const calls = JSON.parse(readFileSync(await (await json).path(), "utf8"));
  expect(Array.isArray(calls)).toBe(true);
  expect(calls.length).toBeGreaterThan(0);
  expect(calls[0]).toHaveProperty("id");
  expect(calls[0]).toHaveProperty("cost_total_micros");
  expect(errors).toEqual([]);
});

test("a range without calls says so", async ({ page }) => {
  await login(page, "/reports");
  await page.goto("/reports?from=2020-01-01&to=2020-01-02");
  await hydrated(page);
  await expect(page.getByTestId("report-empty")).toHaveText("No calls in this range.");
});

test("a report is scheduled through an alert channel, sent now and deleted", async ({ page }) => {
  const errors = watchConsole(page);
  await login(page, "/reports");
  const channel = `reports-inbox-${Date.now()}`;
  const created = await page.request.post("/api/v1/alerts/channels", { data: { name: channel, kind: "in_app" } });
  expect(created.status()).toBe(201);
  await page.reload();
  await hydrated(page);
  const card = page.getByTestId("report-schedules");
  await expect(card.getByRole("heading", { name: "Scheduled reports" })).toBeVisible();

  // Nothing picked: the refusal names the field.
  const name = `Weekly spend ${Date.now()}`;
  await card.getByLabel("Name").fill(name);
  await card.getByLabel("Send").selectOption("weekly");
  await card.getByRole("button", { name: "Schedule report" }).click();
  await expect(page.getByTestId("schedule-error")).toContainText("Channels:");

  await card.getByLabel(new RegExp(`^${channel} \\(in_app\\)$`)).check();
  await card.getByRole("button", { name: "Schedule report" }).click();
  const row = card.getByRole("row").filter({ hasText: name });
  await expect(row).toContainText("Mondays, for the week before");
  await expect(row).toContainText(channel);
  await expect(page.getByTestId("schedule-note")).toContainText("the first report goes out");

  await row.getByRole("button", { name: "Send now" }).click();
  await expect(page.getByTestId("schedule-note")).toHaveText("Sent through 1 channel(s).");
  await row.getByRole("button", { name: "Delete" }).click();
  await expect(card.getByRole("row").filter({ hasText: name })).toHaveCount(0);
  // The browser logs the deliberate 422 above; nothing else may go wrong.
  expect(errors.filter((e) => !e.includes("status of 422"))).toEqual([]);
});
