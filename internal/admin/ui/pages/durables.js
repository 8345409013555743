// Durable topic subscriptions: backlog, online or not; admins delete one.
import * as api from '../api.js';
import { h, fill, num, table, act, confirmDialog, live } from '../dom.js';

export async function render(main, ctx) {
  main.dataset.title = 'Durable subscriptions';
  const admin = ctx.session.admin;
  const body = h('div#durables');
  fill(main, h('h1', 'Durable subscriptions'), body);
  let refresh = () => {};
  const draw = (r) => {
    const items = (Array.isArray(r) ? r : r.items || []).slice()
      .sort((a, b) => (b.backlog || 0) - (a.backlog || 0) || String(a.client_id).localeCompare(String(b.client_id)));
    const head = h('thead', h('tr',
      h('th', { scope: 'col' }, 'Client ID'), h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Topic'),
      h('th', { scope: 'col' }, 'Selector'), h('th.num', { scope: 'col' }, 'Backlog'), h('th', { scope: 'col' }, 'State'),
      admin ? h('th', { scope: 'col' }, h('span.sr', 'Actions')) : null));
    const rows = items.map((d) => h('tr',
      h('td', d.client_id), h('th', { scope: 'row' }, d.name), h('td', d.topic), h('td', d.selector ? h('code', d.selector) : '–'),
      h('td.num', num(d.backlog)),
      h('td', d.online ? h('span.badge.ok', 'online') : h('span.badge', 'offline')),
      admin ? h('td', h('button.danger', {
        type: 'button', disabled: d.online, title: d.online ? 'A consumer is attached' : null,
        onclick: async (e) => {
          if (!(await confirmDialog(`Delete the subscription ${d.name} of ${d.client_id} and its ${num(d.backlog)} messages?`, 'Delete'))) return;
          await act(e.target, () => api.del('/api/v1/durables/' + encodeURIComponent(d.client_id) + '/' + encodeURIComponent(d.name)), () => `Deleted ${d.name}.`);
          refresh();
        },
      }, 'Delete')) : null));
    fill(body, table('Durable subscriptions', head, rows.length ? rows : [h('tr', h('td.empty', { colspan: admin ? 7 : 6 }, 'No durable subscriptions.'))]));
  };
  refresh = await live(body, () => api.get('/api/v1/durables'), draw, ctx.signal);
}
