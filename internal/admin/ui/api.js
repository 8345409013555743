// api.js: the REST API of the console (/api/v1/...), with the session's
// CSRF token on every change. Errors are thrown as ApiError carrying the
// server's {"error": "..."} message and the HTTP status.

export class ApiError extends Error {
  constructor(status, message, data) {
    super(message);
    this.status = status;
    this.data = data || {}; // the whole answer: a 503 names role and master
  }
}

const session = { user: '', admin: false, csrf: '', secured: true };

/** The session as /api/v1/session last answered (user, admin, csrf, secured). */
export function current() {
  return session;
}

/** Fires when a call answers 401: the page shows the login form. */
export const events = new EventTarget();

async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'The console cannot reach the broker: ' + e.message);
  }
  const text = await resp.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { error: text.trim() };
    }
  }
  if (!resp.ok) {
    const msg = (data && data.error) || resp.statusText || 'request failed';
    if (resp.status === 401 && path !== '/api/v1/login') {
      events.dispatchEvent(new CustomEvent('unauthorized'));
    }
    throw new ApiError(resp.status, msg, data);
  }
  return data;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body === undefined ? {} : body);
export const del = (path) => call('DELETE', path);

/** Builds a query string from the defined, non-empty values of params. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '' && v !== false) q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

/** The path of a queue (and what follows), its name escaped. */
export const queuePath = (name, rest = '') => '/api/v1/queues/' + encodeURIComponent(name) + rest;

export async function loadSession() {
  const s = await get('/api/v1/session');
  session.user = s.user || '';
  session.admin = !!s.admin;
  session.csrf = s.csrf || '';
  session.secured = s.secured !== false;
  return session;
}

export async function login(user, password) {
  await post('/api/v1/login', { user, password });
  return loadSession();
}

export async function logout() {
  try {
    await post('/api/v1/logout');
  } finally {
    session.user = '';
    session.admin = false;
    session.csrf = '';
  }
}
