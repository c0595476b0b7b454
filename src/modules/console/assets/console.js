// The Locus console's only script: the forms that write call the console API (same origin, JSON,
// the session cookie), and show what it answered. Everything else is plain HTML.
'use strict';

async function callApi(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text === '' ? null : JSON.parse(text);
  if (!response.ok) throw new Error((data && data.message) || `HTTP ${response.status}`);
  return data;
}

function field(list, term, value) {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  const code = document.createElement('code');
  code.textContent = value;
  dd.append(code);
  list.append(dt, dd);
}

/** Replaces what `out` shows with an error line: `what: message`. */
function showError(out, what, error) {
  out.textContent = '';
  const p = document.createElement('p');
  p.className = 'error';
  p.textContent = `${what}: ${error.message}`;
  out.append(p);
}

/** Runs `call`, then `then` with its answer; if it fails, `out` shows why, headed `failed`. */
async function act(out, failed, call, then) {
  out.textContent = '';
  let answer;
  try {
    answer = await call();
  } catch (error) {
    showError(out, failed, error);
    return;
  }
  then(answer);
}

/** Calls `run(form)` when the form with this id (if the page has it) is submitted. */
function onSubmit(id, run) {
  const form = document.getElementById(id);
  if (form)
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      run(form);
    });
}

/** Calls `run(element)` when the element with this id (if the page has it) is clicked. */
function onClick(id, run) {
  const element = document.getElementById(id);
  if (element) element.addEventListener('click', () => run(element));
}

const reload = () => window.location.reload();

function wireCreateApplication() {
  const out = document.getElementById('created');
  onSubmit('create-application', (form) =>
    act(
      out,
      'Not created',
      () => callApi('POST', '/console/api/applications', { name: form.elements.name.value }),
      (created) => {
        const note = document.createElement('p');
        note.textContent = `Created "${created.name}". The secret is shown only this once: copy it now.`;
        const list = document.createElement('dl');
        field(list, 'Application id', created.applicationId);
        field(list, 'Access key', created.accessKey);
        field(list, 'Access secret', created.accessSecret);
        out.append(note, list);
        form.reset();
      },
    ),
  );
}

function wireLogout() {
  const button = document.getElementById('logout');
  if (!button) return;
  button.addEventListener('click', async () => {
    await callApi('POST', '/console/api/logout').catch(() => undefined);
    window.location.assign('/console');
  });
}

wireCreateApplication();
wireLogout();

function wireTokens() {
  const section = document.getElementById('tokens');
  if (!section) return;
  const api = section.getAttribute('data-api');
  const status = document.getElementById('tokens-status');
  const revoke = async (path, what) => {
    status.textContent = '';
    try {
      await callApi('DELETE', path);
      status.textContent = `${what}: revoked.`;
      window.location.reload();
    } catch (error) {
      status.textContent = `${what}: not revoked (${error.message}).`;
    }
  };
  for (const button of section.querySelectorAll('[data-revoke]')) {
    const tokenId = button.getAttribute('data-revoke');
    button.addEventListener('click', () => revoke(`${api}/tokens/${encodeURIComponent(tokenId)}`, `Token ${tokenId}`));
  }
  const all = document.getElementById('revoke-all');
  if (all) all.addEventListener('click', () => revoke(`${api}/tokens`, 'Every token'));
}

wireTokens();

function cell(row, text, header) {
  const element = document.createElement(header ? 'th' : 'td');
  if (header) element.scope = 'row';
  element.textContent = text;
  row.append(element);
}

// Live presence: every presence event is listed as it arrives, and the counts are read again
// (at most once a second) so they always match what is stored.
function wirePresence() {
  const section = document.getElementById('presence');
  if (!section) return;
  const applicationId = section.getAttribute('data-application');
  const api = `/console/api/applications/${encodeURIComponent(applicationId)}`;
  const changes = document.getElementById('presence-changes');
  const body = document.querySelector('#presence-counts tbody');
  let refreshing = null;
  const refresh = () => {
    if (refreshing) return;
    refreshing = setTimeout(async () => {
      try {
        const read = await callApi('GET', `${api}/presence-counts`);
        body.textContent = '';
        for (const type of Object.keys(read.counts).sort()) {
          const row = document.createElement('tr');
          row.setAttribute('data-type', type);
          cell(row, type === 'null' ? '(chain ended)' : type, true);
          cell(row, String(read.counts[type]), false);
          body.append(row);
        }
      } finally {
        refreshing = null;
      }
    }, 250);
  };
  const source = new EventSource(`${api}/events?types=presence`);
  source.addEventListener('presence', (message) => {
    const event = JSON.parse(message.data);
    const item = document.createElement('li');
    const type = event.data && event.data.presence ? event.data.presence.type : 'none';
    item.textContent = `${event.userId}: ${type}`;
    changes.prepend(item);
    while (changes.children.length > 50) changes.lastElementChild.remove();
    refresh();
  });
}

// The events tail: each event as a row, newest first; EventSource resumes after the last id by itself.
function wireEvents() {
  const section = document.getElementById('events');
  if (!section) return;
  const applicationId = section.getAttribute('data-application');
  const types = section.getAttribute('data-types');
  const rows = document.getElementById('events-rows');
  const state = document.getElementById('events-state');
  const query = types ? `?types=${encodeURIComponent(types)}` : '';
  const source = new EventSource(`/console/api/applications/${encodeURIComponent(applicationId)}/events${query}`);
  source.addEventListener('open', () => {
    state.textContent = 'Live: new events appear at the top.';
  });
  source.addEventListener('error', () => {
    state.textContent = 'Disconnected: reconnecting (and resuming after the last event shown)…';
  });
  const show = (message) => {
    const event = JSON.parse(message.data);
    const row = document.createElement('tr');
    cell(row, message.lastEventId, true);
    cell(row, event.type, false);
    cell(row, event.userId || '', false);
    cell(row, JSON.stringify(event.data), false);
    rows.prepend(row);
    while (rows.children.length > 200) rows.lastElementChild.remove();
  };
  for (const type of (section.getAttribute('data-event-types') || '').split(',')) {
    if (type) source.addEventListener(type, show);
  }
}

wirePresence();
wireEvents();

// An application's page: rename, settings, access keys and webhooks. Secrets (a new key's, a new
// webhook's) are shown once in the status region; other changes reload the page.
function wireApplication() {
  const root = document.getElementById('application');
  if (!root) return;
  const api = root.getAttribute('data-api');
  const status = document.getElementById('application-status');
  const showSecret = (note, pairs) => {
    const p = document.createElement('p');
    p.textContent = `${note} The secret is shown only this once: copy it now, then reload the page.`;
    const list = document.createElement('dl');
    for (const [term, value] of pairs) field(list, term, value);
    status.append(p, list);
  };
  onSubmit('rename-application', (form) => act(status, 'Not renamed', () => callApi('PUT', `${api}/name`, { name: form.elements.name.value }), reload));
  onSubmit('update-settings', (form) => {
    const assignments = form.elements.assignments.value
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
    return act(status, 'Settings not saved', () => callApi('PATCH', `${api}/settings`, { assignments }), reload);
  });
  onClick('add-key', () =>
    act(
      status,
      'No key added',
      () => callApi('POST', `${api}/keys`),
      (added) =>
        showSecret('Access key added.', [
          ['Access key', added.accessKey],
          ['Access secret', added.accessSecret],
        ]),
    ),
  );
  for (const button of root.querySelectorAll('[data-revoke-key]')) {
    const path = `${api}/keys/${encodeURIComponent(button.getAttribute('data-revoke-key'))}`;
    button.addEventListener('click', () => act(status, 'Not revoked', () => callApi('DELETE', path), reload));
  }
  onSubmit('add-webhook', (form) =>
    act(
      status,
      'No webhook added',
      () => callApi('POST', `${api}/webhooks`, { url: form.elements.url.value, types: form.elements.types.value }),
      (added) => {
        showSecret(`Webhook ${added.webhookId} added.`, [
          ['Webhook id', added.webhookId],
          ['Signing secret', added.secret],
        ]);
        form.reset();
      },
    ),
  );
  for (const button of root.querySelectorAll('[data-remove-webhook]')) {
    const path = `${api}/webhooks/${encodeURIComponent(button.getAttribute('data-remove-webhook'))}`;
    button.addEventListener('click', () => act(status, 'Not removed', () => callApi('DELETE', path), reload));
  }
}

wireApplication();

// A user's page: suspend or reinstate, delete.
function wireUser() {
  const root = document.getElementById('user');
  if (!root) return;
  const api = root.getAttribute('data-api');
  const status = document.getElementById('user-status');
  onSubmit('suspend-user', (form) => act(status, 'Not suspended', () => callApi('POST', `${api}/suspension`, { reason: form.elements.reason.value }), reload));
  onClick('reinstate', () => act(status, 'Not reinstated', () => callApi('DELETE', `${api}/suspension`), reload));
  onSubmit('delete-user', (form) =>
    act(
      status,
      'Not deleted',
      () => callApi('DELETE', api, { reason: form.elements.reason.value }),
      () => window.location.assign('/console/users'),
    ),
  );
}

wireUser();
