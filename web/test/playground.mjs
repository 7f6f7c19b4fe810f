// Opens the playground at the URL given in a real (headless) Chromium, runs
// the first example query with GraphiQL's own button, and prints what
// happened as one JSON object: requests to anywhere but the server, failed
// requests, page errors, and the text of the response pane. The Go test
// TestPlaygroundInBrowser (cmd/redthread) starts the server and judges the
// result. CHROMIUM names the browser binary (default /usr/bin/chromium).
import { chromium } from 'playwright-core';

const url = process.argv[2];
if (!url) {
  console.error('usage: node playground.mjs URL');
  process.exit(2);
}
const origin = new URL(url).origin;
const report = { foreign: [], failed: [], errors: [], response: '', step: 'launch' };
let browser;
try {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ], // Playwright gives the browser a fresh, temporary profile

  });
  const page = await browser.newPage();
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:')) report.foreign.push(u);
  });
  page.on('requestfailed', (r) => report.failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on('pageerror', (e) => report.errors.push(String(e)));

  report.step = 'load';
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('.graphiql-container', { timeout: 60_000 });
  report.step = 'example query in the editor';
  // Monaco renders spaces as no-break spaces, which \s matches.
  await page.waitForFunction(() => /query\sSearch\(/.test(document.body.innerText), null, { timeout: 60_000 });
  report.step = 'run';
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(
    () => document.querySelector('.graphiql-response')?.innerText.includes('"search"'),
    null,
    { timeout: 60_000 },
  );
  report.response = await page.$eval('.graphiql-response', (el) => el.innerText.replaceAll('\u00a0', ' '));
  report.step = 'done';
} catch (e) {
  report.errors.push(`${report.step}: ${e.message}`);
} finally {
  await browser?.close();
}
console.log(JSON.stringify(report));
process.exit(report.step === 'done' ? 0 : 1);
