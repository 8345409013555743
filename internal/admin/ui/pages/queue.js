// A queue: its counters, its messages one page at a time (headers,
// properties, a body preview: never the whole queue), and for admins:
// send a test message, delete / move / copy the selected messages, purge,
// delete the queue, and on a dead letter queue retry messages to the
// destination they came from.
import * as api from '../api.js';
import { h, fill, num, count, bytes, timeEl, pager, table, errorBox, toast, act, confirmDialog } from '../dom.js';

const LIMIT = 25;

const isDLQ = (name, info) => !!(info && (info.dlq || info.dead_letter)) || /(^|[.])DLQ([.]|$)/i.test(name);

export async function render(main, ctx) {
  const name = ctx.arg;
  main.dataset.title = name;
  const admin = ctx.session.admin;
  let offset = Math.max(0, parseInt(ctx.query.get('offset'), 10) || 0);
  const selected = new Set();
  let info;
  try {
    info = await api.get(api.queuePath(name));
  } catch (e) {
    if (e.status === 401) throw e;
    fill(main, h('h1', 'Queue ', h('q', name)), errorBox(e), h('p', h('a', { href: '#/destinations' }, 'Back to destinations')));
    return;
  }
  if (ctx.signal.aborted) return;
  const dlq = isDLQ(name, info);
  const stats = h('dl.facts#queue-stats');
  const msgs = h('div#messages', { 'aria-busy': 'true' });
  const selBar = h('div.toolbar.selection', { hidden: true });
  const detail = h('dialog.detail#message-detail', { 'aria-labelledby': 'detail-title' });

  const showStats = (q) => fill(stats,
    stat('Depth', num(q.depth), 'depth'), stat('In flight', num(q.in_flight)),
    stat('Enqueued', num(q.enqueued)), stat('Dequeued', num(q.dequeued)), stat('Expired', num(q.expired)),
    stat('Consumers', num(q.consumers)), stat('Producers', num(q.producers)), stat('Memory', bytes(q.memory)));

  const refreshInfo = async () => {
    try {
      const q = await api.get(api.queuePath(name));
      if (!ctx.signal.aborted) showStats(q);
    } catch {
      // keep the last counters; the message list reports the error
    }
  };

  const loadMessages = async () => {
    let page;
    try {
      page = await api.get(api.queuePath(name, '/messages') + api.query({ offset, limit: LIMIT }));
    } catch (e) {
      if (!ctx.signal.aborted) fill(msgs, errorBox(e));
      return;
    }
    if (ctx.signal.aborted) return;
    if (offset > 0 && offset >= page.total) {
      offset = Math.max(0, Math.floor((page.total - 1) / LIMIT) * LIMIT);
      ctx.setQuery({ offset });
      return loadMessages();
    }
    selected.clear();
    updateSel();
    drawMessages(page);
  };

  const refresh = () => Promise.all([refreshInfo(), loadMessages()]);

  const updateSel = () => {
    selBar.hidden = !admin || selected.size === 0;
    const c = selBar.querySelector('.sel-count');
    if (c) c.textContent = `${selected.size} selected`;
  };

  const drawMessages = (page) => {
    const items = page.items || [];
    const head = h('thead', h('tr',
      admin ? h('th', { scope: 'col' }, h('input#select-all', { type: 'checkbox', 'aria-label': 'Select all on this page', onchange: (e) => {
        for (const box of msgs.querySelectorAll('input.sel')) {
          box.checked = e.target.checked;
          if (box.checked) selected.add(box.value); else selected.delete(box.value);
        }
        updateSel();
      } })) : null,
      h('th.num', { scope: 'col' }, '#'), h('th', { scope: 'col' }, 'Message ID'), h('th', { scope: 'col' }, 'Time'),
      h('th.num', { scope: 'col' }, 'Priority'), h('th.num', { scope: 'col', title: 'Delivery count' }, 'Deliveries'),
      dlq ? h('th', { scope: 'col' }, 'From') : null,
      h('th.num', { scope: 'col' }, 'Size'), h('th', { scope: 'col' }, 'Body'),
      admin && dlq ? h('th', { scope: 'col' }, h('span.sr', 'Actions')) : null));
    const rows = items.map((m) => h('tr', { 'data-id': m.id },
      admin ? h('td', h('input.sel', { type: 'checkbox', value: m.id, 'aria-label': 'Select message ' + m.id, onchange: (e) => {
        if (e.target.checked) selected.add(m.id); else selected.delete(m.id);
        updateSel();
      } })) : null,
      h('td.num', num(m.position)),
      h('td.id', h('button.link.open', { type: 'button', onclick: () => openDetail(m) }, m.id),
        m.in_flight ? h('span.badge.warn', { title: 'Delivered, not yet acknowledged' }, 'in flight') : null,
        m.persistent === false ? h('span.badge', 'non-persistent') : null),
      h('td', timeEl(m.timestamp)),
      h('td.num', m.priority), h('td.num', m.delivery_count),
      dlq ? h('td', m.original_destination || '–') : null,
      h('td.num', bytes(m.body_size)),
      h('td.preview', preview(m)),
      admin && dlq ? h('td', h('button.retry-one', { type: 'button', disabled: !m.original_destination, onclick: (e) => retry(e.target, [m.id]) }, 'Retry')) : null));
    const cols = 7 + (admin ? 1 : 0) + (dlq ? 1 : 0) + (admin && dlq ? 1 : 0);
    fill(msgs,
      table('Messages', head, rows.length ? rows : [h('tr', h('td.empty', { colspan: cols }, 'The queue is empty.'))], '#msg-table'),
      pager(page.total, page.offset ?? offset, LIMIT, (o) => {
        offset = o;
        ctx.setQuery({ offset });
        loadMessages();
      }));
    msgs.setAttribute('aria-busy', 'false');
  };

  const openDetail = (m) => {
    const headers = [
      ['Message ID', m.id], ['Position', m.position], ['Destination', m.destination], ['Original destination', m.original_destination],
      ['Timestamp', m.timestamp ? timeEl(m.timestamp) : null], ['Expiration', m.expiration ? timeEl(m.expiration) : 'never'],
      ['Priority', m.priority], ['Persistent', yes(m.persistent)], ['Redelivered', yes(m.redelivered)],
      ['Delivery count', m.delivery_count], ['Correlation ID', m.correlation_id], ['Type', m.type], ['Reply to', m.reply_to],
      ['Group', m.group_id ? `${m.group_id} #${m.group_seq}` : null], ['User', m.user_id], ['In flight', yes(m.in_flight)],
      ['Body', `${m.body_kind || 'unknown'}, ${bytes(m.body_size)}`],
    ].filter(([, v]) => v !== undefined && v !== null && v !== '');
    const props = Object.entries(m.properties || {}).sort(([a], [b]) => a.localeCompare(b));
    const full = m.body_preview_encoding === 'base64' ? `base64: ${m.body_preview || ''}` : (m.body_preview ?? '');
    const cut = m.body_truncated || (m.body_size > 0 && previewLength(m) < m.body_size);
    fill(detail,
      h('form', { method: 'dialog' },
        h('h2#detail-title', 'Message ', h('code', m.id)),
        h('h3', 'Headers'),
        h('dl.kv', headers.map(([k, v]) => [h('dt', k), h('dd', v)])),
        h('h3', 'Properties'),
        props.length ? h('dl.kv', props.map(([k, v]) => [h('dt', k), h('dd', typeof v === 'object' ? JSON.stringify(v) : String(v))])) : h('p.muted', 'None.'),
        h('h3', 'Body', cut ? h('span.muted', ` (first ${bytes(previewLength(m))} of ${bytes(m.body_size)})`) : null),
        h('pre.body', full === '' ? h('span.muted', '(empty)') : full),
        h('div.actions', h('button', { type: 'submit' }, 'Close'))));
    detail.showModal();
  };

  const retry = (button, ids) => act(button, () => api.post(api.queuePath(name, '/retry'), ids ? { ids } : {}),
    (r) => `Retried ${count(r.retried, 'message')} to ${r.retried === 1 ? 'its' : 'their'} original destination.`).then(refresh);

  const moveTo = h('input#move-to', { placeholder: 'Queue name', 'aria-label': 'Destination queue for move or copy', autocomplete: 'off' });
  const move = async (button, copy) => {
    const to = moveTo.value.trim();
    if (!to) {
      toast('Name the queue to ' + (copy ? 'copy' : 'move') + ' to.', 'error');
      moveTo.focus();
      return;
    }
    await act(button, () => api.post(api.queuePath(name, '/move'), { ids: [...selected], to: 'queue://' + to, copy }),
      (r) => `${copy ? 'Copied' : 'Moved'} ${count(r.moved, 'message')} to ${to}.`);
    refresh();
  };

  if (admin) {
    fill(selBar,
      h('span.sel-count', { 'aria-live': 'polite' }),
      h('button.danger#delete-selected', { type: 'button', onclick: async (e) => {
        const ids = [...selected];
        if (!(await confirmDialog(`Delete ${count(ids.length, 'message')} from ${name}?`, 'Delete'))) return;
        await act(e.target, () => api.post(api.queuePath(name, '/remove'), { ids }), (r) => `Deleted ${count(r.removed, 'message')}.`);
        refresh();
      } }, 'Delete'),
      h('span.group', moveTo,
        h('button#move-selected', { type: 'button', onclick: (e) => move(e.target, false) }, 'Move'),
        h('button#copy-selected', { type: 'button', onclick: (e) => move(e.target, true) }, 'Copy')),
      dlq ? h('button#retry-selected', { type: 'button', onclick: (e) => retry(e.target, [...selected]) }, 'Retry selected') : null);
  }

  fill(main,
    h('p.crumbs', h('a', { href: '#/destinations' }, 'Destinations'), ' / '),
    h('h1', h('span.sr', 'Queue '), h('span#queue-name', name), dlq ? h('span.badge.warn', { title: 'Dead letter queue' }, 'DLQ') : null),
    stats,
    admin ? actions(name, dlq, refresh, retry) : null,
    h('section', { 'aria-labelledby': 'messages-title' },
      h('div.section-head', h('h2#messages-title', 'Messages'), h('button#refresh', { type: 'button', onclick: refresh }, 'Refresh')),
      selBar, msgs),
    detail);
  showStats(info);
  await loadMessages();
}

function stat(label, value, id) {
  return h('div.stat', h('dt', label), h('dd', { id: id ? 'stat-' + id : null }, value));
}

const yes = (b) => (b === undefined ? null : b ? 'yes' : 'no');

function previewLength(m) {
  if (!m.body_preview) return 0;
  if (m.body_preview_encoding === 'base64') return Math.floor((m.body_preview.length * 3) / 4);
  return new TextEncoder().encode(m.body_preview).length;
}

function preview(m) {
  if (m.body_preview_encoding === 'base64') return h('span.muted', `${m.body_kind || 'bytes'} (binary)`);
  const s = m.body_preview || '';
  if (!s) return h('span.muted', m.body_size ? m.body_kind || '' : '(empty)');
  return s.length > 80 ? s.slice(0, 80) + '…' : s;
}

/** The admin's buttons for the whole queue, and the send form. */
function actions(name, dlq, refresh, retry) {
  const body = h('textarea#send-body', { rows: 4, 'aria-label': 'Body' });
  const props = h('textarea#send-props', { rows: 2, placeholder: 'key=value, one per line', 'aria-label': 'Properties' });
  const persistent = h('input#send-persistent', { type: 'checkbox', checked: true });
  const priority = h('input#send-priority', { type: 'number', min: 0, max: 9, value: 4 });
  const submit = h('button.primary#send-submit', { type: 'submit' }, 'Send');
  const form = h('form.send#send-form', { onsubmit: async (e) => {
    e.preventDefault();
    let properties;
    try {
      properties = parseProps(props.value);
    } catch (err) {
      toast(err.message, 'error');
      props.focus();
      return;
    }
    const r = await act(submit, () => api.post(api.queuePath(name, '/messages'),
      { body: body.value, properties, persistent: persistent.checked, priority: Number(priority.value) }), (r) => `Sent ${r.id}.`);
    if (r) refresh();
  } },
  h('label.wide', 'Body', body),
  h('label.wide', 'Properties', props),
  h('div.row', h('label.inline', persistent, ' Persistent'), h('label.inline', 'Priority ', priority), submit));
  return h('section.admin-actions', { 'aria-label': 'Queue actions' },
    h('details#send', h('summary', 'Send a test message'), form),
    h('div.toolbar',
      dlq ? h('button#retry-all', { type: 'button', onclick: async (e) => {
        if (await confirmDialog(`Retry every message of ${name} to its original destination?`, 'Retry all')) retry(e.target, null);
      } }, 'Retry all') : null,
      h('button.danger#purge', { type: 'button', onclick: async (e) => {
        if (!(await confirmDialog(`Purge ${name}? Every message in it is deleted.`, 'Purge'))) return;
        await act(e.target, () => api.post(api.queuePath(name, '/purge')), (r) => `Purged ${count(r.removed, 'message')}.`);
        refresh();
      } }, 'Purge'),
      h('button.danger#delete-queue', { type: 'button', onclick: async (e) => {
        if (!(await confirmDialog(`Delete the queue ${name} and its messages?`, 'Delete queue'))) return;
        const r = await act(e.target, () => api.del(api.queuePath(name)).then(() => true), () => `Deleted ${name}.`);
        if (r) location.hash = '#/destinations';
      } }, 'Delete queue')));
}

/** "k=v" lines as properties: numbers and true/false keep their type. */
function parseProps(text) {
  const out = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const i = line.indexOf('=');
    if (i <= 0) throw new Error(`Property "${line}": want key=value.`);
    const k = line.slice(0, i).trim(), v = line.slice(i + 1).trim();
    out[k] = v === 'true' ? true : v === 'false' ? false : /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  }
  return out;
}
