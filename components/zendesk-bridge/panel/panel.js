// The agent's chat panel in the Zendesk ticket sidebar.
//
// The bridge served this page after checking the token Zendesk signed for
// the signed-in agent; it handed the page a short-lived session (in
// #panel-setup) that every call below carries. The page never says who the
// agent is: the bridge reads that from the session. Everything shown is
// set with textContent, never as HTML, so a message cannot inject markup.
'use strict';
(function () {
  const setup = JSON.parse(document.getElementById('panel-setup').textContent);
  let session = setup.session;
  const $ = (id) => document.getElementById(id);
  const POLL_MS = setup.poll_ms || 3000;
  const ROLE_NAMES = { you: 'You', customer: 'Customer', agent: 'Agent', bot: 'Bot', system: 'Notice' };
  let ticketId = null;
  let newest = null;
  let oldest = null;
  let canSend = false;
  let polling = null;

  async function call(route, body) {
    const response = await fetch(setup.api + '/' + route, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + session },
      body: JSON.stringify(body),
    });
    let answer;
    try { answer = await response.json(); } catch (e) { answer = { error: 'HTTP ' + response.status }; }
    if (answer.session) session = answer.session;
    if (!response.ok) {
      const error = new Error(answer.error || 'HTTP ' + response.status);
      error.status = response.status;
      throw error;
    }
    return answer;
  }

  function showError(message) {
    const box = $('error');
    box.textContent = message || '';
    box.hidden = !message;
  }

  function status(text, kind) {
    const line = $('status');
    line.textContent = text;
    line.className = kind || '';
  }

  function webLink(url, label) {
    const a = document.createElement('a');
    a.href = url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = label;
    return a;
  }

  function renderPart(part) {
    const span = document.createElement('div');
    span.className = 'part ' + part.kind;
    if (part.kind === 'text') {
      span.classList.add('text');
      span.textContent = part.text;
    } else if (part.kind === 'image') {
      if (part.url) {
        const link = webLink(part.url, '');
        if (part.thumbnail) {
          const img = document.createElement('img');
          img.className = 'thumb';
          img.alt = 'image';
          img.src = part.thumbnail;
          link.appendChild(img);
        } else {
          link.textContent = 'image';
        }
        span.appendChild(link);
      } else {
        span.textContent = '[image]';
      }
    } else if (part.kind === 'file') {
      const label = part.name + (part.size ? ' (' + Math.ceil(part.size / 1024) + ' KB)' : '');
      if (part.url) span.appendChild(webLink(part.url, label)); else span.textContent = '[file] ' + label;
    } else if (part.kind === 'sound') {
      const label = 'voice message' + (part.seconds ? ' (' + part.seconds + ' s)' : '');
      if (part.url) span.appendChild(webLink(part.url, label)); else span.textContent = '[' + label + ']';
    } else if (part.kind === 'video') {
      if (part.url) span.appendChild(webLink(part.url, 'video')); else span.textContent = '[video]';
    } else {
      span.textContent = part.text ? part.text : '[' + part.msg_type + ']';
    }
    return span;
  }

  function renderLine(line) {
    const item = document.createElement('li');
    item.className = line.speaker + (line.removed ? ' removed' : '');
    item.dataset.seq = String(line.seq);
    item.dataset.from = line.from;
    const role = document.createElement('span');
    role.className = 'role';
    role.textContent = ROLE_NAMES[line.speaker] || line.speaker;
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = line.name;
    const time = document.createElement('time');
    time.className = 'time';
    time.textContent = new Date(line.time * 1000).toLocaleTimeString();
    item.append(role, who, time);
    if (line.removed) {
      const gone = document.createElement('div');
      gone.textContent = 'message removed';
      item.appendChild(gone);
    } else {
      line.parts.forEach((part) => item.appendChild(renderPart(part)));
    }
    return item;
  }

  function addLines(lines, atTop) {
    const list = $('lines');
    const seen = new Set(Array.from(list.children, (li) => li.dataset.seq));
    const fresh = lines.filter((line) => !seen.has(String(line.seq)));
    if (atTop) {
      const first = list.firstChild;
      fresh.forEach((line) => list.insertBefore(renderLine(line), first));
    } else {
      fresh.forEach((line) => list.appendChild(renderLine(line)));
      if (fresh.length) list.scrollTop = list.scrollHeight;
    }
    lines.forEach((line) => {
      if (newest === null || line.seq > newest) newest = line.seq;
      if (oldest === null || line.seq < oldest) oldest = line.seq;
    });
  }

  // Who is in the chat, from a join answer.
  function showMembers(answer) {
    const box = $('members');
    const members = answer.members || [];
    box.textContent = members.length
      ? 'In this chat: ' + members.map((m) => m.name + ' (' + (ROLE_NAMES[m.speaker] || m.speaker).toLowerCase() + ')').join(', ')
      : '';
    box.hidden = !members.length;
  }

  function applyAccess(answer) {
    if (answer.members) showMembers(answer);
    canSend = answer.can_send;
    $('compose').hidden = !canSend;
    if (answer.dissolved) {
      status('This chat has ended.', 'closed');
    } else if (canSend) {
      status('You are in the chat with the customer as ' + answer.you_name + '.');
    } else {
      status('Read-only: you are not the assignee. Take the ticket to answer.', 'read-only');
    }
  }

  async function poll() {
    const first = newest === null;
    try {
      const answer = await call('history', first ? { ticket_id: ticketId } : { ticket_id: ticketId, after: newest });
      if (answer.gap) { $('lines').textContent = ''; newest = null; oldest = null; }
      addLines(answer.lines, false);
      // More than a page arrived at once: older ones are a click away.
      if (first || answer.gap) $('older').hidden = answer.older == null;
      if (answer.can_send !== canSend || answer.dissolved) applyAccess(answer);
      showError('');
    } catch (error) {
      showError(error.message);
      if (error.status === 401) { clearInterval(polling); status('Signed out: reload the ticket to sign in again.', 'closed'); }
    }
  }

  async function older() {
    if (oldest === null || oldest <= 1) return;
    try {
      const answer = await call('history', { ticket_id: ticketId, before: oldest - 1 });
      addLines(answer.lines, true);
      $('older').hidden = answer.older == null;
    } catch (error) {
      showError(error.message);
    }
  }

  function clientId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  async function send(event) {
    event.preventDefault();
    const box = $('text');
    const text = box.value;
    if (!text.trim()) return;
    const button = $('send');
    button.disabled = true;
    // One id per message typed: a retry after a lost answer is not sent twice.
    box.dataset.clientId = box.dataset.clientId || clientId();
    try {
      const answer = await call('send', { ticket_id: ticketId, text, client_id: box.dataset.clientId });
      if (answer.line) addLines([answer.line], false);
      box.value = '';
      delete box.dataset.clientId;
      showError('');
    } catch (error) {
      showError(error.message);
      if (error.status === 403) applyAccess({ can_send: false, dissolved: false });
    } finally {
      button.disabled = false;
    }
  }

  async function start() {
    const client = window.ZAFClient && window.ZAFClient.init();
    if (!client) {
      status('Open this panel from a Zendesk ticket.', 'closed');
      return;
    }
    client.invoke('resize', { width: '100%', height: '560px' });
    const data = await client.get('ticket.id');
    ticketId = data['ticket.id'];
    const answer = await call('join', { ticket_id: ticketId });
    applyAccess(answer);
    $('compose').addEventListener('submit', send);
    $('older').addEventListener('click', older);
    $('text').addEventListener('input', () => { delete $('text').dataset.clientId; });
    // Taking or handing over the ticket changes who may answer.
    client.on('ticket.assignee.changed', () => call('join', { ticket_id: ticketId }).then(applyAccess, (e) => showError(e.message)));
    await poll();
    polling = setInterval(poll, POLL_MS);
  }

  start().catch((error) => {
    status('Chat unavailable', 'closed');
    showError(error.message || String(error));
  });
})();
