// Keeps the Overview open in Debian's Chromium for a while, live stream and all, so a soak
// measures the server with a user watching (docs/BENCHMARKS.md).
// Usage: node bench/hold-open.mjs URL ADMIN_PASSWORD SECONDS
import { chromium } from "playwright-core";

const [url, password, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg ?? 600);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
await page.goto(`${url}/login`);
await page.getByLabel("Username").fill("admin");
await page.getByLabel("Password").fill(password);
await page.getByRole("button", { name: "Log in" }).click();
await page.waitForURL((u) => u.pathname === "/");
await page.waitForFunction(() => document.body.hasAttribute("data-hydrated"));
const before = await page.textContent('[data-testid="card-requests"] .stat-value');
await page.waitForTimeout(seconds * 1000);
const after = await page.textContent('[data-testid="card-requests"] .stat-value');
console.log(`overview held open for ${seconds} s; requests card ${before} -> ${after}`);
await browser.close();
