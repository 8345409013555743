// Network bridges: what /network reports for this broker's connectors.
import * as api from '../api.js';
import { h, fill, num, timeEl, table, live } from '../dom.js';

export async function render(main, ctx) {
  main.dataset.title = 'Network bridges';
  const body = h('div#bridges');
  fill(main, h('h1', 'Network bridges'), body);
  const draw = (r) => {
    const items = r.bridges || [];
    const head = h('thead', h('tr',
      ['Connector', 'Remote', 'Connected to', 'State', 'Since'].map((l) => h('th', { scope: 'col' }, l)),
      ['Demand', 'Subscriptions', 'Forwarded', 'Sent', 'Dead-lettered', 'Connects'].map((l) => h('th.num', { scope: 'col' }, l))));
    const rows = items.map((b) => h('tr',
      h('th', { scope: 'row' }, b.connector), h('td', b.remote),
      h('td', b.address ? [b.address, b.remote_broker ? h('span.muted', ` (${b.remote_broker})`) : null] : '–'),
      h('td', h('span.badge' + (b.state === 'connected' ? '.ok' : '.warn'), b.state),
        b.last_error ? h('div.error.small', b.last_error) : null),
      h('td', timeEl(b.since)),
      h('td.num', num(b.demand)), h('td.num', num(b.subscriptions)), h('td.num', num(b.forwarded)),
      h('td.num', num(b.sent)), h('td.num', num(b.dead_lettered)), h('td.num', num(b.connects))));
    fill(body, table('Network bridges', head, rows.length ? rows : [h('tr', h('td.empty', { colspan: 11 }, 'This broker has no network bridges.'))]));
  };
  await live(body, () => api.get('/network'), draw, ctx.signal);
}
