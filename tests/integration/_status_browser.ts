/// <reference lib="dom" />
/**
 * Drives a node's status page in headless Chromium with playwright-core and prints what it shows as
 * JSON. Run as its own process with -A by status_page_test.ts: playwright-core probes /proc/sys at
 * import, which Deno allows only under --allow-all, and the test task's flags stop short of that.
 *
 * Usage: deno run -A tests/integration/_status_browser.ts <node url> <key> <screenshot.png>
 * @module
 */
import { chromium } from "playwright-core";

const [url, key, screenshot] = Deno.args;
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  await page.goto(url);
  await page.waitForSelector("body[data-loaded=true]");
  const members = await page.$$eval("#members tbody tr", (rows) =>
    rows.map((r) => ({
      id: (r as HTMLElement).dataset.member,
      text: r.textContent,
    })));
  const groups = await page.$$eval(
    "#groups tbody tr",
    (rows) => rows.map((r) => (r as HTMLElement).dataset.group),
  );
  await page.fill("#key", key);
  await page.click("button[type=submit]");
  await page.waitForFunction(() => document.getElementById("owner")?.dataset.owner !== undefined);
  const owner = await page.$eval(
    "#owner",
    (o) => ({ id: (o as HTMLElement).dataset.owner, text: o.textContent }),
  );
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ members, groups, owner }));
} finally {
  await browser.close();
}
