// app.js: the console's shell. It checks the session, shows the login form
// or the page the address names (#/destinations, #/queue/<name>, ...),
// loads each page's module on first use, and says on every page when this
// broker is not the master.

import * as api from './api.js';
import { h, fill, errorBox } from './dom.js';

const routes = {
  '': () => import('./pages/overview.js'),
  destinations: () => import('./pages/destinations.js'),
  queue: () => import('./pages/queue.js'),
  durables: () => import('./pages/durables.js'),
  connections: () => import('./pages/connections.js'),
  scheduler: () => import('./pages/scheduler.js'),
  network: () => import('./pages/network.js'),
  group: () => import('./pages/group.js'),
  login: () => import('./pages/login.js'),
};

const main = document.getElementById('main');
let pageAbort = null;
let signedIn = false;

/** Splits the address: "#/queue/a%2Fb?offset=50" → {page, arg, query}. */
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs = ''] = raw.split('?');
  const [page, ...rest] = path.split('/');
  return { page, arg: rest.length ? decodeURIComponent(rest.join('/')) : '', query: new URLSearchParams(qs) };
}

/** Changes the address's query without adding to the history, e.g. paging. */
export function setQuery(params) {
  const { page, arg } = parseHash();
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== undefined && v !== null && v !== false && v !== 0) q.set(k, v);
  const s = q.toString();
  const hash = '#/' + page + (arg ? '/' + encodeURIComponent(arg) : '') + (s ? '?' + s : '');
  history.replaceState(null, '', hash);
}

function markNav(page) {
  for (const a of document.querySelectorAll('#nav a')) {
    const target = a.getAttribute('href').replace(/^#\/?/, '');
    const on = target === page || (page === 'queue' && target === 'destinations');
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function route() {
  if (pageAbort) pageAbort.abort();
  pageAbort = new AbortController();
  const signal = pageAbort.signal;
  let { page, arg, query } = parseHash();
  if (!signedIn && page !== 'login') {
    location.replace('#/login');
    return;
  }
  if (!(page in routes)) page = '';
  markNav(page);
  try {
    const mod = await routes[page]();
    if (signal.aborted) return;
    const ctx = { signal, arg, query, session: api.current(), setQuery, onLogin };
    await mod.render(main, ctx);
    if (!signal.aborted) document.title = (main.dataset.title ? main.dataset.title + ' · ' : '') + 'Pier console';
  } catch (e) {
    if (signal.aborted) return;
    if (e.status === 401) return; // the unauthorized event shows the login
    fill(main, h('h1', 'Error'), errorBox(e));
  }
}

function showSignedIn(yes) {
  signedIn = yes;
  document.getElementById('nav').hidden = !yes;
  document.getElementById('who').hidden = !yes;
  const s = api.current();
  const who = !s.secured ? 'security off: no login' : s.user + (s.admin ? ' (admin)' : ' (read only)');
  document.getElementById('user').textContent = yes ? who : '';
  document.getElementById('logout').hidden = !s.secured;
  document.body.classList.toggle('ro', yes && !s.admin);
  if (!yes) document.getElementById('role-banner').hidden = true;
}

/** After a login: the page asked for before, else the overview. */
async function onLogin(next) {
  showSignedIn(true);
  checkRole();
  location.replace(next && next !== '#/login' ? next : '#/');
}

/**
 * Shows a banner when this broker does not serve clients: a slave (or
 * replica) waiting for the master, with a link to the master's console
 * when the group knows it.
 */
export async function checkRole() {
  const banner = document.getElementById('role-banner');
  let role = '';
  let err = null;
  let masterHint = '';
  try {
    const b = await api.get('/api/v1/broker');
    role = String(b.role || '').toLowerCase();
    masterHint = b.master || '';
    if (b.serving === false && role === 'master') err = new Error('not serving');
  } catch (e) {
    if (e.status === 401) return;
    err = e;
    role = String(e.data.role || '').toLowerCase();
  }
  if (!err && (role === '' || role === 'master' || role === 'standalone')) {
    banner.hidden = true;
    return;
  }
  masterHint = masterHint || (err && err.data && err.data.master) || '';
  let master = masterHint ? { name: masterHint } : null;
  try {
    master = masterOf(await api.get('/api/v1/group')) || master;
  } catch {
    // no group information: say what we know
  }
  const standby = role && role !== 'master';
  const what = standby ? `This broker is a ${role}` : 'This broker is not serving clients right now';
  const parts = [h('strong#role-text', what + '.'), standby ? ' It stands by for the master and holds no destinations of its own. ' : ' '];
  const label = master && (master.name || master.id || master.address || master.console);
  if (master && master.console) {
    parts.push('The master is ', h('a#master-link', { href: consoleURL(master.console) }, label), '.');
  } else if (label) {
    parts.push('The master is ', h('strong#master-name', label), master.client_url ? ` (clients: ${master.client_url})` : '', '.');
  } else {
    parts.push('The master is not known yet.');
  }
  fill(banner, ...parts);
  banner.className = 'banner slave';
  banner.hidden = false;
}

/** The member of a /api/v1/group answer that is master, or null. */
export function masterOf(g) {
  const members = (g && g.members) || [];
  return members.find((m) => String(m.role || '').toLowerCase() === 'master' || m.master === true) ||
    (g && g.master && typeof g.master === 'object' ? g.master : null) ||
    (g && typeof g.master === 'string' ? { name: g.master, console: g.master_console } : null);
}

/** A console address as a link target (http:// added to a bare host:port). */
export function consoleURL(c) {
  return /^https?:\/\//.test(c) ? c : location.protocol + '//' + c + '/';
}

api.events.addEventListener('unauthorized', () => {
  if (!signedIn && parseHash().page === 'login') return;
  const back = parseHash().page === 'login' ? '' : location.hash;
  showSignedIn(false);
  sessionStorage.setItem('pier.next', back);
  location.replace('#/login');
});

document.getElementById('logout').addEventListener('click', async () => {
  try {
    await api.logout();
  } catch {
    // the session is gone either way
  }
  showSignedIn(false);
  location.replace('#/login');
});

window.addEventListener('hashchange', () => {
  route();
  main.focus({ preventScroll: true });
});

async function start() {
  let target = '';
  try {
    await api.loadSession();
    showSignedIn(true);
    checkRole();
    if (parseHash().page === 'login') target = '#/';
  } catch (e) {
    showSignedIn(false);
    if (e.status !== 401) sessionStorage.setItem('pier.error', e.message);
    if (parseHash().page !== 'login') {
      sessionStorage.setItem('pier.next', location.hash);
      target = '#/login';
    }
  }
  // A new address routes through hashchange; the same one routes now.
  if (target && location.hash !== target) location.replace(target);
  else route();
}

// A slave becomes master (and a master can lose its span): look again now
// and then.
setInterval(() => {
  if (signedIn && !document.hidden) checkRole();
}, 10000);

start();
