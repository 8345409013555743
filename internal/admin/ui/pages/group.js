// The HA group: how it shares state, this member's role, the master, and
// each member of a replicated group with its role, term, indexes and
// replication lag (links to a member's console when the group knows it).
import * as api from '../api.js';
import { h, fill, num, table, live } from '../dom.js';
import { consoleURL } from '../app.js';

const KINDS = { single: 'single broker', 'shared-directory': 'shared directory', sql: 'SQL lease', replicated: 'replicated (Raft)' };

export async function render(main, ctx) {
  main.dataset.title = 'Group';
  const body = h('div#group');
  fill(main, h('h1', 'HA group'), body);
  const draw = (g) => {
    const members = g.members || [];
    // A member's console address, when the group reports one, links there.
    const consoles = members.some((m) => m.console);
    const facts = [
      ['Kind', KINDS[g.kind] || g.kind],
      ['This member', g.self],
      ['Role', g.role ? h('span.badge.role-' + g.role, g.role) : null],
      ['Master', g.master],
      ['Term', g.term ? num(g.term) : null],
    ].filter(([, v]) => v !== undefined && v !== null && v !== '');
    const head = h('thead', h('tr',
      h('th', { scope: 'col' }, 'Member'), h('th', { scope: 'col' }, 'Role'), h('th', { scope: 'col' }, 'Address'),
      h('th.num', { scope: 'col' }, 'Term'), h('th.num', { scope: 'col' }, 'Commit'), h('th.num', { scope: 'col' }, 'Applied'),
      h('th.num', { scope: 'col' }, 'Lag'), h('th', { scope: 'col' }, 'Clients'),
      consoles ? h('th', { scope: 'col' }, 'Console') : null));
    const rows = members.map((m) => {
      const self = m.id && m.id === g.self;
      const role = m.role || 'unreachable';
      return h('tr', { class: self ? 'self' : null },
        h('th', { scope: 'row' }, m.id, self ? h('span.badge', 'this broker') : null),
        h('td', h('span.badge.role-' + role, role), m.state ? h('span.muted.small', ' ' + m.state) : null,
          m.error ? h('div.error.small', m.error) : null),
        h('td', m.address || '–'),
        h('td.num', num(m.term)), h('td.num', num(m.commit_index)), h('td.num', num(m.applied_index)),
        h('td.num', m.role ? num(m.lag) : '–'),
        h('td', m.client_url || '–'),
        consoles ? h('td', m.console ? (self ? m.console : h('a', { href: consoleURL(m.console) }, m.console)) : '–') : null);
    });
    fill(body,
      facts.length ? h('dl.facts', facts.map(([k, v]) => h('div.stat', h('dt', k), h('dd', v)))) : null,
      members.length ? table('Members', head, rows) : h('p.muted', g.kind === 'single' ? 'This broker runs alone.' : 'No member list for this kind of group.'));
  };
  await live(body, () => api.get('/api/v1/group'), draw, ctx.signal);
}
