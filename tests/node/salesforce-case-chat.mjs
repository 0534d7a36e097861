// The Case chat component in a real browser: the component's own source
// (integrations/salesforce/.../lwc/switchboardCaseChat) compiled with LWC's
// open-source compiler and run on @lwc/engine-dom in Debian's Chromium,
// against the running bridge. Salesforce's base components are not open
// source, so lightning-card, -button, -textarea and lightning/navigation are
// small stand-ins (lwc-stubs/); the Apex controller is stood in for by this
// script's server, which does what SwitchboardAgentChatController does: names
// the running user and the Case's owner, signs the call as Apex signs it, and
// turns a refusal into the error the component shows.
//
// Input (stdin, JSON): { bridge_url, secret, case_id, case_owner_id,
// assignee: {id, name}, other: {id, name}, customer_text, answer_text,
// screenshots }. Prints what each user saw, as JSON.
import { rollup } from 'rollup';
import lwc from '@lwc/rollup-plugin';
import { chromium } from 'playwright-core';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const input = JSON.parse(readFileSync(0, 'utf8'));
const here = dirname(fileURLToPath(import.meta.url));
const component = join(
  here, '../../integrations/salesforce/force-app/main/default/lwc/switchboardCaseChat/switchboardCaseChat.js',
);

// The page's script: the component mounted on a record page (recordId set),
// or as a utility-bar item (none: it follows CurrentPageReference).
const entry = `
import { createElement } from 'lwc';
import SwitchboardCaseChat from 'c/switchboardCaseChat';
const element = createElement('c-switchboard-case-chat', { is: SwitchboardCaseChat });
if (window.SWITCHBOARD_RECORD_ID) element.recordId = window.SWITCHBOARD_RECORD_ID;
document.getElementById('app').appendChild(element);
`;
// `lwc` is this folder's @lwc/engine-dom for every file, the component's
// included (next to it, integrations/salesforce has another copy, for Jest).
const engine = join(here, 'node_modules/@lwc/engine-dom/dist/index.js');
const apexImports = {
  name: 'apex-imports',
  resolveId(id) {
    if (id === 'lwc') return engine;
    if (id === '\0entry' || id.startsWith('@salesforce/apex/')) return id.startsWith('\0') ? id : '\0' + id;
    return null;
  },
  load(id) {
    if (id === '\0entry') return entry;
    if (id.startsWith('\0@salesforce/apex/')) {
      const method = id.slice(id.lastIndexOf('.') + 1);
      return `export default (params) => window.callApex(${JSON.stringify(method)}, params);`;
    }
    return null;
  },
};
const warnings = [];
const bundle = await rollup({
  input: '\0entry',
  plugins: [
    apexImports,
    lwc({ modules: [{ name: 'c/switchboardCaseChat', path: component }, { dir: join(here, 'lwc-stubs') }] }),
  ],
  onwarn: (warning) => warnings.push(String(warning.message)),
});
const script = (await bundle.generate({ format: 'iife' })).output[0].code;

const page = (user, mode) => `<!doctype html>
<html><head><meta charset="utf-8"><title>Case chat</title></head>
<body style="margin:16px;background:#f3f3f3;width:420px">
<div id="app"></div>
<script>
window.process = { env: { NODE_ENV: 'production' } };
window.SWITCHBOARD_RECORD_ID = ${JSON.stringify(mode === 'record' ? input.case_id : null)};
window.SWITCHBOARD_FOCUSED_CASE = ${JSON.stringify(input.case_id)};
// What an @AuraEnabled call looks like to the component: a promise, and an
// AuraHandledException as { body: { message } }.
window.callApex = async (method, params) => {
  const response = await fetch('/apex/' + method + '?as=${user}', { method: 'POST', body: JSON.stringify(params) });
  const answer = await response.json();
  if (!response.ok) throw { body: { message: answer.message } };
  return answer;
};
</script>
<script src="/bundle.js"></script>
</body></html>`;

// SwitchboardAgentChatController, for the user named by `as`.
const routes = { openChat: 'join', chatHistory: 'history', sendMessage: 'send' };
async function apex(method, params, user) {
  const extra =
    method === 'chatHistory'
      ? { after: params.after ?? null, before: params.before ?? null }
      : method === 'sendMessage'
        ? { text: params.text, client_id: params.clientId }
        : {};
  const body = JSON.stringify({
    ...extra,
    user_id: user.id,
    user_name: user.name,
    user_photo_url: null,
    case_id: params.caseId,
    case_owner_id: input.case_owner_id,
  });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = randomBytes(16).toString('hex');
  const signature = createHmac('sha256', input.secret).update(`${timestamp}.${nonce}.${body}`).digest('base64');
  let response;
  try {
    response = await fetch(`${input.bridge_url}/salesforce/chat/${routes[method]}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-switchboard-timestamp': timestamp,
        'x-switchboard-nonce': nonce,
        'x-switchboard-signature': signature,
      },
      body,
    });
  } catch (error) {
    return [500, { message: 'Chat is unavailable: Switchboard did not answer.' }];
  }
  const answer = await response.json().catch(() => null);
  if (response.status === 200 && answer) return [200, answer];
  if (response.status === 429) return [500, { message: 'Too many chat calls: wait a moment and try again.' }];
  return [500, { message: (answer && answer.error) || `Chat is unavailable (${response.status})` }];
}

const users = { assignee: input.assignee, other: input.other };
const server = createServer(async (request, response) => {
  const url = new URL(request.url, 'http://127.0.0.1');
  const user = users[url.searchParams.get('as')];
  const send = (status, type, body) => {
    response.writeHead(status, { 'content-type': type });
    response.end(body);
  };
  if (request.method === 'GET' && url.pathname === '/bundle.js') return send(200, 'application/javascript', script);
  if (request.method === 'GET' && url.pathname === '/' && user) {
    return send(200, 'text/html; charset=utf-8', page(url.searchParams.get('as'), url.searchParams.get('mode')));
  }
  if (request.method === 'POST' && url.pathname.startsWith('/apex/') && user) {
    const method = url.pathname.slice('/apex/'.length);
    if (!routes[method]) return send(404, 'application/json', JSON.stringify({ message: 'no such method' }));
    let raw = '';
    for await (const chunk of request) raw += chunk;
    const [status, answer] = await apex(method, JSON.parse(raw), user);
    return send(status, 'application/json', JSON.stringify(answer));
  }
  return send(404, 'text/plain', 'not found');
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
  ],
});
const problems = [...warnings.map((w) => `rollup: ${w}`)];
const context = await browser.newContext({ viewport: { width: 460, height: 640 } });
await context.route(/^https?:\/\/(?!127\.0\.0\.1)/, (route) => route.abort());

async function open(as, mode) {
  const tab = await context.newPage();
  tab.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  tab.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  await tab.goto(`${origin}/?as=${as}&mode=${mode}`);
  await tab
    .locator('c-switchboard-case-chat')
    .locator('.status, .error')
    .filter({ hasNotText: 'Opening' })
    .first()
    .waitFor({ timeout: 15000 });
  return tab;
}

const seen = async (tab) => ({
  status: await tab.locator('c-switchboard-case-chat .status').textContent(),
  compose_visible: (await tab.locator('c-switchboard-case-chat textarea').count()) > 0,
  error: (await tab.locator('c-switchboard-case-chat .error').count())
    ? await tab.locator('c-switchboard-case-chat .error').textContent()
    : null,
  lines: await tab.locator('c-switchboard-case-chat li').evaluateAll((items) =>
    items.map((li) => ({
      speaker: li.className.split(' ')[1],
      name: li.querySelector('.who').textContent,
      text: Array.from(li.querySelectorAll('.text'), (p) => p.textContent).join(''),
    })),
  ),
});

mkdirSync(input.screenshots, { recursive: true });
const result = {};
try {
  // The owner, on the Case page: sees the customer, answers, sees the answer.
  const assignee = await open('assignee', 'record');
  await assignee.locator('c-switchboard-case-chat li.customer', { hasText: input.customer_text }).waitFor({ timeout: 15000 });
  await assignee.locator('c-switchboard-case-chat textarea').fill(input.answer_text);
  await assignee.locator('c-switchboard-case-chat lightning-button.send button').click();
  await assignee.locator('c-switchboard-case-chat li.you', { hasText: input.answer_text }).waitFor({ timeout: 15000 });
  result.assignee = await seen(assignee);
  await assignee.screenshot({ path: join(input.screenshots, 'salesforce-case-chat-owner.png') });

  // Another user, from the utility bar with the Case focused: reads it as it
  // polls in, has nothing to send with.
  const other = await open('other', 'utility');
  await other.locator('c-switchboard-case-chat li.agent', { hasText: input.answer_text }).waitFor({ timeout: 15000 });
  result.other = await seen(other);
  await other.screenshot({ path: join(input.screenshots, 'salesforce-case-chat-other-user.png') });
} catch (error) {
  result.failure = String((error && error.stack) || error);
} finally {
  result.problems = problems;
  await browser.close();
  server.close();
}
process.stdout.write(JSON.stringify(result));
