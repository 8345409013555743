// dom.js: elements built from parts, never from HTML strings (every text
// is a text node, so names and message bodies can never become markup),
// number and time formats, the confirmation dialog and the status line.

/**
 * h('tag.class#id', {attr: value, onclick: fn}, ...children): an element.
 * Attributes set to false, null or undefined are left out.
 */
export function h(spec, attrs, ...children) {
  const [, tag, rest] = /^([a-z0-9-]+)(.*)$/i.exec(spec);
  const el = document.createElement(tag);
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs !== null && attrs !== undefined && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces el's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const nf = new Intl.NumberFormat();
export const num = (n) => (n === undefined || n === null ? '–' : nf.format(n));

/** "1 message", "2 messages": n and the word, plural unless n is 1. */
export const count = (n, word) => `${num(n)} ${word}${n === 1 ? '' : 's'}`;

export function bytes(n) {
  if (n === undefined || n === null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
}

export function duration(sec) {
  if (sec === undefined || sec === null || isNaN(sec)) return '–';
  sec = Math.max(0, Math.floor(sec));
  const d = Math.floor(sec / 86400), hr = Math.floor(sec / 3600) % 24;
  const m = Math.floor(sec / 60) % 60, s = sec % 60;
  if (d) return `${d}d ${hr}h`;
  if (hr) return `${hr}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

/** A time (unix ms, or an RFC 3339 string) as local date and time. */
export function when(t) {
  if (!t) return '–';
  const d = new Date(t);
  if (isNaN(d)) return String(t);
  return d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

/** A <time> element for t, the exact value in its title. */
export function timeEl(t) {
  if (!t) return '–';
  const d = new Date(t);
  if (isNaN(d)) return String(t);
  return h('time', { datetime: d.toISOString(), title: d.toISOString() }, when(t));
}

/** Shows a short message in the status line; kind 'error' stays longer. */
export function toast(message, kind = 'ok') {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.className = 'toast show ' + kind;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.className = 'toast'), kind === 'error' ? 8000 : 3000);
}

/** Asks a yes/no question in the page's dialog; resolves to true on OK. */
export function confirmDialog(text, okLabel = 'OK') {
  const dlg = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = okLabel;
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
    dlg.returnValue = '';
    dlg.showModal();
    document.getElementById('confirm-cancel').focus();
  });
}

/** An error box with the server's message, for a page that could not load. */
export function errorBox(err) {
  return h('p.error', { role: 'alert' }, err && err.message ? err.message : String(err));
}

/**
 * Runs fn (an API call) with button disabled, then reports its outcome:
 * ok(result) gives the success text; an error shows the server's message.
 */
export async function act(button, fn, ok) {
  if (button) button.disabled = true;
  try {
    const r = await fn();
    if (ok) toast(ok(r));
    return r;
  } catch (e) {
    toast(e.message, 'error');
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

/**
 * A sortable table head: cols are {key, label, num?, sort?}; a col with
 * sort: true is a button that calls onSort(key). state is {sort, desc}.
 */
export function thead(cols, state, onSort) {
  return h('thead', h('tr', cols.map((c) => {
    const cls = c.num ? 'num' : null;
    if (!c.sort) return h('th', { scope: 'col', class: cls }, c.label);
    const active = state.sort === c.key;
    const aria = active ? (state.desc ? 'descending' : 'ascending') : null;
    return h('th', { scope: 'col', class: cls, 'aria-sort': aria },
      h('button.sort', { type: 'button', 'data-sort': c.key, onclick: () => onSort(c.key) },
        c.label, h('span.arrow', { 'aria-hidden': 'true' }, active ? (state.desc ? ' ▾' : ' ▴') : '')));
  })));
}

/** "1–50 of 10,000" with previous/next buttons calling go(newOffset). */
export function pager(total, offset, limit, go) {
  const last = Math.min(offset + limit, total);
  const prev = h('button', { type: 'button', 'data-page': 'prev', disabled: offset <= 0, onclick: () => go(Math.max(0, offset - limit)) }, '‹ Previous');
  const next = h('button', { type: 'button', 'data-page': 'next', disabled: last >= total, onclick: () => go(offset + limit) }, 'Next ›');
  const first = h('button', { type: 'button', disabled: offset <= 0, onclick: () => go(0) }, '« First');
  const end = h('button', { type: 'button', disabled: last >= total, onclick: () => go(Math.max(0, Math.floor((total - 1) / limit) * limit)) }, 'Last »');
  const text = total ? `${num(offset + 1)}–${num(last)} of ${num(total)}` : 'none';
  return h('nav.pager', { 'aria-label': 'Pages' }, first, prev, h('span.count', { 'aria-live': 'polite' }, text), next, end);
}

/** A table in a scrolling wrapper (narrow screens scroll it sideways). */
export function table(caption, head, rows, cls = '') {
  return h('div.scroll', h('table' + cls, caption ? h('caption.sr', caption) : null, head, h('tbody', rows)));
}

/** Whether the keyboard focus is on a control inside el. */
export const focusIn = (el) => el.contains(document.activeElement) && document.activeElement !== el;

/** Polls fn every ms while the page is shown and the tab visible. */
export function poll(fn, ms, signal) {
  let timer = 0;
  const tick = async () => {
    if (signal.aborted) return;
    if (!document.hidden) await fn();
    if (!signal.aborted) timer = setTimeout(tick, ms);
  };
  signal.addEventListener('abort', () => clearTimeout(timer));
  timer = setTimeout(tick, ms);
}

/**
 * Shows a live view in el: draw(data) with what load() returns, now and
 * every ms while the page is shown; an error replaces the view with the
 * server's message until the next success. Resolves after the first draw
 * to a function that refreshes the view at once (after a change).
 */
export async function live(el, load, draw, signal, ms = 5000) {
  const tick = async () => {
    let data;
    try {
      data = await load();
    } catch (e) {
      if (!signal.aborted) fill(el, errorBox(e));
      return;
    }
    if (!signal.aborted) draw(data);
  };
  await tick();
  // A redraw would take the keyboard's place away: wait while it is inside.
  poll(() => (focusIn(el) ? undefined : tick()), ms, signal);
  return tick;
}
