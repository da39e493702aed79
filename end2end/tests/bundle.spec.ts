import { expect, test } from "@playwright/test";
import { hydrated, login, watchConsole } from "./helpers";

/** The .wasm files this document has loaded so far, by path. */
async function wasmLoaded(page: import("@playwright/test").Page): Promise<string[]> {
  return page.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .map((e) => new URL(e.name).pathname)
      .filter((p) => p.endsWith(".wasm")),
  );
}

test("the Overview hydrates from the main module alone; another page loads its own chunk when opened", async ({ page }) => {
  const errors = watchConsole(page);
  await login(page, "/");
  await hydrated(page);
  expect(await wasmLoaded(page)).toEqual(["/pkg/sightline.wasm"]);

  // Client-side navigation to a split page: its code arrives then, and the page works.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Calls" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "LLM calls" })).toBeVisible();
  await expect(page.getByText("Loading calls…")).toHaveCount(0);
  const loaded = await wasmLoaded(page);
  expect(loaded.some((p) => /\/pkg\/split___calls_route_view_\d+\.wasm$/.test(p))).toBe(true);
  // Its filter form answers, so the split code is live, not only drawn.
  await page.getByLabel("Status").selectOption("error");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/status=error/);
  expect(errors).toEqual([]);
});

test("the WASM is sent compressed to browsers that accept it", async ({ page }) => {
  for (const encoding of ["br", "gzip"]) {
    const r = await page.request.get("/pkg/sightline.wasm", { headers: { "accept-encoding": encoding } });
    expect(r.status()).toBe(200);
    expect(r.headers()["content-encoding"]).toBe(encoding);
    expect(r.headers()["content-type"]).toBe("application/wasm");
  }
  const plain = await page.request.get("/pkg/sightline.wasm", { headers: { "accept-encoding": "identity" } });
  expect(plain.headers()["content-encoding"]).toBeUndefined();
  expect((await plain.body()).subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
});
