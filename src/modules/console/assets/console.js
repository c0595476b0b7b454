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

function wireCreateApplication() {
  const form = document.getElementById('create-application');
  if (!form) return;
  const out = document.getElementById('created');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    out.textContent = '';
    try {
      const created = await callApi('POST', '/console/api/applications', { name: form.elements.name.value });
      const note = document.createElement('p');
      note.textContent = `Created "${created.name}". The secret is shown only this once: copy it now.`;
      const list = document.createElement('dl');
      field(list, 'Application id', created.applicationId);
      field(list, 'Access key', created.accessKey);
      field(list, 'Access secret', created.accessSecret);
      out.append(note, list);
      form.reset();
    } catch (error) {
      const p = document.createElement('p');
      p.className = 'error';
      p.textContent = `Not created: ${error.message}`;
      out.append(p);
    }
  });
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
