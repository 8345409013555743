// Destinations: one page of queues and topics at a time, filtered, sorted
// and paged by the server (never the whole list: 10,000 destinations cost
// the browser one page). The table refreshes every few seconds.
import * as api from '../api.js';
import { h, fill, num, bytes, thead, pager, table, errorBox, poll } from '../dom.js';

const LIMIT = 50;
const REFRESH_MS = 5000;
const SORTS = ['name', 'depth', 'enqueued', 'dequeued', 'consumers'];

const cols = [
  { key: 'name', label: 'Name', sort: true },
  { key: 'type', label: 'Type' },
  { key: 'depth', label: 'Depth', num: true, sort: true },
  { key: 'enqueued', label: 'Enqueued', num: true, sort: true },
  { key: 'dequeued', label: 'Dequeued', num: true, sort: true },
  { key: 'expired', label: 'Expired', num: true },
  { key: 'consumers', label: 'Consumers', num: true, sort: true },
  { key: 'producers', label: 'Producers', num: true },
  { key: 'memory', label: 'Memory', num: true },
];

export async function render(main, ctx) {
  main.dataset.title = 'Destinations';
  const q = ctx.query;
  const state = {
    q: q.get('q') || '',
    type: ['queue', 'topic'].includes(q.get('type')) ? q.get('type') : '',
    sort: SORTS.includes(q.get('sort')) ? q.get('sort') : 'name',
    desc: q.get('desc') === '1',
    offset: Math.max(0, parseInt(q.get('offset'), 10) || 0),
  };
  const filter = h('input#dest-filter', { type: 'search', value: state.q, placeholder: 'Filter by name', 'aria-label': 'Filter destinations by name', autocomplete: 'off' });
  const type = h('select#dest-type', { 'aria-label': 'Type' },
    h('option', { value: '' }, 'Queues and topics'), h('option', { value: 'queue' }, 'Queues'), h('option', { value: 'topic' }, 'Topics'));
  type.value = state.type;
  const body = h('div#dest-table', { 'aria-busy': 'true' });
  fill(main,
    h('h1', 'Destinations'),
    h('form.toolbar', { role: 'search', onsubmit: (e) => e.preventDefault() }, filter, type),
    body);

  let seq = 0;
  const load = async () => {
    const my = ++seq;
    const path = '/api/v1/destinations' + api.query({
      type: state.type, q: state.q, sort: state.sort, desc: state.desc ? 1 : '', offset: state.offset, limit: LIMIT,
    });
    let page;
    try {
      page = await api.get(path);
    } catch (e) {
      if (my === seq && !ctx.signal.aborted) fill(body, errorBox(e));
      return;
    }
    if (my !== seq || ctx.signal.aborted) return;
    if (state.offset > 0 && state.offset >= page.total) {
      state.offset = Math.max(0, Math.floor((page.total - 1) / LIMIT) * LIMIT);
      return reload();
    }
    draw(page);
  };
  const reload = () => {
    ctx.setQuery({ q: state.q, type: state.type, sort: state.sort === 'name' ? '' : state.sort, desc: state.desc ? 1 : '', offset: state.offset });
    return load();
  };
  const onSort = (key) => {
    if (state.sort === key) state.desc = !state.desc;
    else {
      state.sort = key;
      state.desc = key !== 'name'; // numbers: biggest first
    }
    state.offset = 0;
    reload().then(() => body.querySelector(`[data-sort="${key}"]`)?.focus());
  };
  const draw = (page) => {
    const rows = (page.items || []).map((d) => {
      const link = d.type === 'queue'
        ? h('a', { href: '#/queue/' + encodeURIComponent(d.name) }, d.name)
        : h('span', d.name);
      return h('tr', { 'data-name': d.name },
        h('th', { scope: 'row' }, link),
        h('td', h('span.badge', d.type)),
        h('td.num', num(d.depth)), h('td.num', num(d.enqueued)), h('td.num', num(d.dequeued)),
        h('td.num', num(d.expired)), h('td.num', num(d.consumers)), h('td.num', num(d.producers)),
        h('td.num', bytes(d.memory)));
    });
    const focused = document.activeElement && body.contains(document.activeElement) ? document.activeElement.dataset : null;
    fill(body,
      table('Destinations', thead(cols, state, onSort), rows.length ? rows : [h('tr', h('td.empty', { colspan: cols.length }, state.q ? 'No destination matches.' : 'No destinations.'))]),
      pager(page.total, state.offset, LIMIT, (o) => {
        state.offset = o;
        reload();
      }));
    body.setAttribute('aria-busy', 'false');
    // Keep the keyboard where it was across a refresh.
    if (focused && focused.sort) body.querySelector(`[data-sort="${focused.sort}"]`)?.focus();
    else if (focused && focused.page) body.querySelector(`[data-page="${focused.page}"]`)?.focus();
  };

  let timer = 0;
  filter.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.q = filter.value.trim();
      state.offset = 0;
      reload();
    }, 250);
  });
  type.addEventListener('change', () => {
    state.type = type.value;
    state.offset = 0;
    reload();
  });
  ctx.signal.addEventListener('abort', () => clearTimeout(timer));
  await load();
  // Not while the keyboard is on a row's link: the redraw would lose it.
  poll(() => (document.activeElement?.closest('#dest-table tbody') ? undefined : load()), REFRESH_MS, ctx.signal);
}
