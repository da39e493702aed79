import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { expect, test } from "@playwright/test";
import { hydrated, login, watchConsole } from "./helpers";

// A local OpenAI-compatible upstream with known speeds: `e2e-fast` answers the prompt in
// upper case in five chunks 30 ms apart; `e2e-slow` waits 300 ms, then sends chunks 250 ms apart.
let upstream: Server;
let base = "";

test.beforeAll(async () => {
  upstream = createServer((req, res) => {
    if (req.url?.startsWith("/v1/models")) {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ object: "list", data: [{ id: "e2e-fast" }, { id: "e2e-slow" }] }));
      return;
    }
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      const r = JSON.parse(body);
      const prompt: string = r.messages[r.messages.length - 1].content;
      const slow = r.model === "e2e-slow";
      const answer = prompt.toUpperCase();
      const size = Math.max(1, Math.ceil(answer.length / 5));
      res.setHeader("content-type", "text/event-stream");
      const wait = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
      await wait(slow ? 300 : 30);
      for (let i = 0; i < 5; i++) {
        const piece = answer.slice(i * size, (i + 1) * size);
        res.write(`data: ${JSON.stringify({ model: r.model, choices: [{ index: 0, delta: { content: piece } }] })}\n\n`);
        if (i < 4) await wait(slow ? 250 : 30);
      }
      res.write(`data: ${JSON.stringify({ model: r.model, choices: [], usage: { prompt_tokens: 8, completion_tokens: 5 } })}\n\n`);
      res.end("data: [DONE]\n\n");
    });
  });
  await new Promise<void>((ok) => upstream.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});

test.afterAll(() => upstream.close());

test("a benchmark run started from the form shows live progress, then results, and compares with another", async ({ page }) => {
  const errors = watchConsole(page);
  await login(page, "/benchmarks");
  const put = await page.request.put("/api/v1/providers/e2e-bench", {
    data: { kind: "openai", base_url: base, api_key: "sk-e2e" },
  });
  expect(put.status()).toBe(200);
  await page.reload();
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Benchmarks" })).toBeVisible();

  // Nothing picked: the server's refusal names the field.
  await page.getByTestId("bench-start").click();
  await expect(page.getByTestId("bench-error")).toContainText("Models: pick at least one model");

  const models = page.getByTestId("bench-models");
  await models.getByLabel("e2e-bench/e2e-fast").check();
  await models.getByLabel("e2e-bench/e2e-slow").check();
  await page.getByLabel("Prompts", { exact: true }).fill("alpha\nbravo\ncharlie");
  await page.getByLabel("Scoring").selectOption("exact");
  await page.getByLabel("Expected answers").fill("ALPHA\nBRAVO\nsomething else");
  await page.getByLabel("Concurrency per model").fill("1");
  await page.getByTestId("bench-start").click();

  // Live: a bar per model moves while the slow model works through its three prompts.
  const run = page.getByTestId("bench-run");
  await expect(run.getByTestId("run-status")).toHaveText("running");
  const bars = page.getByTestId("bench-model-progress");
  await expect(bars).toHaveCount(2);
  await expect(bars.filter({ hasText: "e2e-bench/e2e-fast" })).toContainText("3 / 3");
  await expect(bars.filter({ hasText: "e2e-bench/e2e-slow" }).getByRole("progressbar")).toHaveAttribute("aria-valuenow", /[0-2]/);

  // Then the results: two of three answers as expected for both models.
  await expect(run.getByTestId("run-status")).toHaveText("done", { timeout: 15_000 });
  const results = page.getByTestId("bench-results");
  await expect(results.getByRole("row").filter({ hasText: "e2e-fast" }).getByTestId("bench-quality")).toHaveText("67 %");
  await expect(results.getByRole("row").filter({ hasText: "e2e-slow" })).toContainText("3 / 3");
  await expect(page.locator("#chart-bench-bars canvas")).toBeAttached();
  await expect(page.locator("#chart-bench-scatter canvas")).toBeAttached();
  const first = new URL(page.url()).searchParams.get("run");

  // A second run, cancelled while it runs.
  await models.getByLabel("e2e-bench/e2e-fast").uncheck();
  await page.getByLabel("Scoring").selectOption("none");
  await page.getByTestId("bench-start").click();
  await expect(run.getByTestId("run-status")).toHaveText("running");
  await expect(page).not.toHaveURL(new RegExp(`run=${first}$`));
  await page.getByTestId("bench-cancel").click();
  await expect(run.getByTestId("run-status")).toHaveText("cancelled");

  // The history holds both; the first compared with the second side by side.
  const history = page.getByTestId("bench-history");
  const firstRow = history.getByRole("row").filter({ hasText: `#${first} ` });
  await firstRow.getByRole("button", { name: "View" }).click();
  await expect(page).toHaveURL(new RegExp(`run=${first}$`));
  await history.getByRole("row").nth(1).getByRole("button", { name: "Compare" }).click();
  const compared = page.getByTestId("bench-compare");
  await expect(compared).toBeVisible();
  await expect(compared.getByRole("row").filter({ hasText: "e2e-slow" })).toHaveCount(1);
  // The browser logs the deliberate 422 above; nothing else may go wrong.
  expect(errors.filter((e) => !e.includes("status of 422"))).toEqual([]);
});
