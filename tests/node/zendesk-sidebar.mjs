// An agent's day in the Zendesk sidebar, in a real browser: Debian's
// Chromium driven by playwright-core opens the Zendesk emulator's agent
// workspace, whose iframe is the bridge's sidebar page running Zendesk's own
// ZAF SDK (from npm, served where Zendesk's CDN would serve it).
//
// Input (stdin, JSON): { assignee_url, other_url, customer_text, answer_text,
// screenshots }. Prints what each agent saw, as JSON.
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const input = JSON.parse(readFileSync(0, 'utf8'));
const require = createRequire(import.meta.url);

// The SDK as a browser script: its CommonJS entry bundled to `ZAFClient`.
const sdk = await build({
  entryPoints: [require.resolve('zendesk_app_framework_sdk/lib/index.js')],
  bundle: true,
  format: 'iife',
  globalName: 'ZAFClient',
  platform: 'browser',
  write: false,
  logLevel: 'silent',
});
const sdkSource = sdk.outputFiles[0].text;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
  ],
});
const problems = [];
const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
// Nothing leaves loopback but the SDK, served here. (Playwright tries the
// routes registered last first.)
await context.route(/^https?:\/\/(?!127\.0\.0\.1)/, (route) => route.abort());
await context.route('https://static.zdassets.com/**', (route) =>
  route.fulfill({ status: 200, contentType: 'application/javascript', body: sdkSource }),
);

async function open(url) {
  const page = await context.newPage();
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  await page.goto(url);
  const frame = page.frameLocator('#sidebar');
  await frame.locator('#status').filter({ hasNotText: 'Connecting' }).waitFor({ timeout: 15000 });
  return { page, frame };
}

const texts = async (frame) =>
  frame.locator('#lines li').evaluateAll((items) =>
    items.map((li) => ({
      speaker: li.className.split(' ')[0],
      from: li.dataset.from,
      name: li.querySelector('.who').textContent,
      text: Array.from(li.querySelectorAll('.part.text'), (p) => p.textContent).join(''),
    })),
  );

mkdirSync(input.screenshots, { recursive: true });
const result = {};
try {
  // The assignee sees the customer's message, answers, and sees the answer.
  const assignee = await open(input.assignee_url);
  await assignee.frame.locator('#lines li.customer', { hasText: input.customer_text }).waitFor({ timeout: 15000 });
  await assignee.frame.locator('#text').fill(input.answer_text);
  await assignee.frame.locator('#send').click();
  await assignee.frame.locator('#lines li.you', { hasText: input.answer_text }).waitFor({ timeout: 15000 });
  result.assignee = {
    status: await assignee.frame.locator('#status').textContent(),
    compose_visible: await assignee.frame.locator('#compose').isVisible(),
    lines: await texts(assignee.frame),
    error: await assignee.frame.locator('#error').textContent(),
  };
  await assignee.page.screenshot({ path: join(input.screenshots, 'zendesk-sidebar-assignee.png') });

  // Another agent on the same ticket reads it but has nothing to send with.
  const other = await open(input.other_url);
  await other.frame.locator('#lines li.agent', { hasText: input.answer_text }).waitFor({ timeout: 15000 });
  result.other = {
    status: await other.frame.locator('#status').textContent(),
    compose_visible: await other.frame.locator('#compose').isVisible(),
    lines: await texts(other.frame),
  };
  await other.page.screenshot({ path: join(input.screenshots, 'zendesk-sidebar-other-agent.png') });
} catch (error) {
  result.failure = String(error && error.stack || error);
} finally {
  result.problems = problems;
  await browser.close();
}
process.stdout.write(JSON.stringify(result));
