// Scheduled jobs: messages sent with AMQ_SCHEDULED_* and rejected messages
// waiting for their redelivery, in the order they fall due, a page at a
// time; admins cancel one.
import * as api from '../api.js';
import { h, fill, num, bytes, duration, timeEl, pager, table, act, confirmDialog, live } from '../dom.js';

const LIMIT = 50;

/** How a job repeats, in words: "every 1m 0s, 3 more", "cron 0 * * * *". */
function schedule(j) {
  const parts = [];
  if (j.cron) parts.push(h('code', j.cron));
  if (j.period) parts.push(`every ${duration(j.period / 1000)}`);
  if (j.repeat === -1) parts.push('for ever');
  else if (j.repeat > 0) parts.push(`${num(j.repeat)} more`);
  if (!parts.length) parts.push(j.redelivery ? 'redelivery' : 'once');
  return parts.flatMap((p, i) => (i ? [', ', p] : [p]));
}

export async function render(main, ctx) {
  main.dataset.title = 'Scheduled jobs';
  const admin = ctx.session.admin;
  let offset = Math.max(0, parseInt(ctx.query.get('offset'), 10) || 0);
  const body = h('div#jobs');
  fill(main, h('h1', 'Scheduled jobs'), body);
  let refresh = () => {};
  const draw = (page) => {
    const items = page.items || [];
    const head = h('thead', h('tr',
      h('th', { scope: 'col' }, 'Due'), h('th', { scope: 'col' }, 'Destination'), h('th', { scope: 'col' }, 'Schedule'),
      h('th', { scope: 'col' }, 'Job ID'), h('th.num', { scope: 'col' }, 'Size'), h('th', { scope: 'col' }, 'Body'),
      admin ? h('th', { scope: 'col' }, h('span.sr', 'Actions')) : null));
    const rows = items.map((j) => {
      const m = j.message || {};
      return h('tr', { 'data-id': j.id },
        h('td', timeEl(j.due)),
        h('th', { scope: 'row' }, m.destination || '–', j.redelivery ? h('span.badge.warn', 'redelivery') : null),
        h('td', schedule(j)),
        h('td.id', j.id),
        h('td.num', bytes(m.body_size)),
        h('td.preview', m.body_preview_encoding === 'base64' ? h('span.muted', '(binary)') : (m.body_preview || '')),
        admin ? h('td', h('button.danger', {
          type: 'button',
          onclick: async (e) => {
            if (!(await confirmDialog(`Cancel the job ${j.id}? Its message is not delivered.`, 'Cancel job'))) return;
            await act(e.target, () => api.del('/api/v1/scheduler/jobs/' + encodeURIComponent(j.id)), () => `Cancelled ${j.id}.`);
            refresh();
          },
        }, 'Cancel')) : null);
    });
    fill(body,
      table('Scheduled jobs', head, rows.length ? rows : [h('tr', h('td.empty', { colspan: admin ? 7 : 6 }, 'No scheduled jobs.'))]),
      pager(page.total, page.offset ?? offset, LIMIT, (o) => {
        offset = o;
        ctx.setQuery({ offset });
        refresh();
      }));
  };
  refresh = await live(body, () => api.get('/api/v1/scheduler/jobs' + api.query({ offset, limit: LIMIT })), draw, ctx.signal);
}
