// Client connections: protocol, address, user, client id, consumers and
// producers; admins close one.
import * as api from '../api.js';
import { h, fill, num, count, timeEl, table, act, confirmDialog, live } from '../dom.js';

export async function render(main, ctx) {
  main.dataset.title = 'Connections';
  const admin = ctx.session.admin;
  const body = h('div#connections');
  fill(main, h('h1', 'Connections'), body);
  let refresh = () => {};
  const draw = (r) => {
    const items = Array.isArray(r) ? r : r.items || [];
    const head = h('thead', h('tr',
      h('th', { scope: 'col' }, 'Protocol'), h('th', { scope: 'col' }, 'Address'), h('th', { scope: 'col' }, 'User'),
      h('th', { scope: 'col' }, 'Client ID'), h('th', { scope: 'col' }, 'Since'),
      h('th.num', { scope: 'col' }, 'Consumers'), h('th.num', { scope: 'col' }, 'Producers'),
      admin ? h('th', { scope: 'col' }, h('span.sr', 'Actions')) : null));
    const rows = items.map((c) => h('tr', { 'data-id': c.id },
      h('td', h('span.badge', c.protocol)), h('th', { scope: 'row' }, c.remote), h('td', c.user || h('span.muted', 'anonymous')),
      h('td', c.client_id || '–'), h('td', timeEl(c.since)),
      h('td.num', num(c.consumers)), h('td.num', num(c.producers)),
      admin ? h('td', h('button.danger', {
        type: 'button',
        onclick: async (e) => {
          if (!(await confirmDialog(`Close the ${c.protocol} connection from ${c.remote}${c.client_id ? ' (' + c.client_id + ')' : ''}?`, 'Close'))) return;
          await act(e.target, () => api.del('/api/v1/connections/' + encodeURIComponent(c.id)), () => `Closed the connection from ${c.remote}.`);
          refresh();
        },
      }, 'Close')) : null));
    fill(body,
      h('p.muted', count(items.length, 'connection')),
      table('Connections', head, rows.length ? rows : [h('tr', h('td.empty', { colspan: admin ? 8 : 7 }, 'No client connections.'))]));
  };
  refresh = await live(body, () => api.get('/api/v1/connections'), draw, ctx.signal);
}
