// Overview: the broker's name, version, role and uptime, connections by
// protocol, memory and store against their limits, and live message rates
// (polling /api/v1/broker every few seconds).
import * as api from '../api.js';
import { h, fill, num, bytes, duration, timeEl, errorBox, poll } from '../dom.js';
import { RateChart } from '../chart.js';
import { checkRole } from '../app.js';

const POLL_MS = 3000;

/** The first of keys that obj has (the API may nest or flatten). */
function pick(obj, ...keys) {
  for (const k of keys) {
    const v = k.split('.').reduce((o, p) => (o == null ? undefined : o[p]), obj);
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}

function uptimeOf(b) {
  const s = pick(b, 'uptime_seconds', 'uptime');
  if (typeof s === 'number') return s;
  const started = pick(b, 'started', 'started_at', 'since');
  return started ? (Date.now() - new Date(started).getTime()) / 1000 : undefined;
}

function gauge(label, used, limit, id) {
  const text = limit ? `${bytes(used)} of ${bytes(limit)} (${Math.round((100 * used) / limit)}%)` : bytes(used) + (limit === 0 ? ' (no limit)' : '');
  const m = limit ? h('meter', { id, min: 0, max: limit, value: used, high: limit * 0.8, optimum: 0, 'aria-label': label }) : null;
  return h('div.stat', h('dt', label), h('dd', m, h('span', text)));
}

export async function render(main, ctx) {
  main.dataset.title = 'Overview';
  const b = await api.get('/api/v1/broker');
  if (ctx.signal.aborted) return;
  const rates = new RateChart('Messages per second in and out', [
    { name: 'in', color: '--in' },
    { name: 'out', color: '--out' },
  ]);
  const facts = h('dl.facts');
  const conns = h('div');
  const rateText = h('p.legend', { 'aria-live': 'off' });
  const cards = h('section.cards',
    h('article.card', h('h2', 'Message rates'), rates.canvas, rateText),
    h('article.card', h('h2', 'Connections'), conns));
  const idle = h('p.muted#not-serving', { hidden: true });
  fill(main, h('h1', 'Overview'), facts, idle, cards);
  let prev = null;
  const show = (b) => {
    const role = pick(b, 'role') || 'standalone';
    // A member that is not master has no broker to count: say so rather
    // than show zeros.
    const serving = b.serving !== false;
    cards.hidden = !serving;
    idle.hidden = serving;
    if (!serving) {
      fill(facts,
        h('div.stat', h('dt', 'Broker'), h('dd#broker-name', pick(b, 'name') || '–')),
        h('div.stat', h('dt', 'Version'), h('dd', pick(b, 'version') || '–')),
        h('div.stat', h('dt', 'Role'), h('dd', h('span.badge.role-' + String(role).toLowerCase(), role))),
        b.master ? h('div.stat', h('dt', 'Master'), h('dd', b.master)) : null);
      fill(idle, 'This broker serves no clients now: destinations, connections and rates are on the master.');
      prev = null;
      return;
    }
    fill(facts,
      h('div.stat', h('dt', 'Broker'), h('dd#broker-name', pick(b, 'name') || '–')),
      h('div.stat', h('dt', 'Version'), h('dd', pick(b, 'version') || '–')),
      h('div.stat', h('dt', 'Role'), h('dd', h('span.badge.role-' + String(role).toLowerCase(), role))),
      h('div.stat', h('dt', 'Uptime'), h('dd', { title: pick(b, 'started') ? new Date(pick(b, 'started')).toISOString() : null }, duration(uptimeOf(b)))),
      h('div.stat', h('dt', 'Queues'), h('dd', num(pick(b, 'queues', 'destinations.queues')))),
      h('div.stat', h('dt', 'Topics'), h('dd', num(pick(b, 'topics', 'destinations.topics')))),
      pick(b, 'scheduled_jobs') !== undefined ? h('div.stat', h('dt', 'Scheduled jobs'), h('dd', num(pick(b, 'scheduled_jobs')))) : null,
      gauge('Memory', pick(b, 'memory_used', 'memory.used') || 0, pick(b, 'memory_limit', 'memory.limit'), 'memory-meter'),
      pick(b, 'store_used', 'store.used') !== undefined ? gauge('Store', pick(b, 'store_used', 'store.used'), pick(b, 'store_limit', 'store.limit'), 'store-meter') : null);
    const by = pick(b, 'connections') || {};
    const entries = typeof by === 'object' ? Object.entries(by).sort() : [];
    const total = entries.reduce((n, [, v]) => n + v, 0);
    fill(conns, entries.length
      ? h('table.compact', h('tbody', entries.map(([p, n]) => h('tr', h('th', { scope: 'row' }, p), h('td.num', num(n)))),
        h('tr.total', h('th', { scope: 'row' }, 'total'), h('td.num', num(total)))))
      : h('p.muted', 'No client connections.'));
    const now = performance.now();
    const enq = pick(b, 'enqueued', 'messages.enqueued') || 0;
    const deq = pick(b, 'dequeued', 'messages.dequeued') || 0;
    if (prev) {
      const dt = (now - prev.t) / 1000;
      const rin = Math.max(0, (enq - prev.enq) / dt), rout = Math.max(0, (deq - prev.deq) / dt);
      rates.push([rin, rout]);
      fill(rateText, h('span.key.in', 'in'), ` ${rin.toFixed(1)}/s  `, h('span.key.out', 'out'), ` ${rout.toFixed(1)}/s`,
        h('span.muted', ` · ${num(enq)} enqueued, ${num(deq)} dequeued since `, timeEl(pick(b, 'started'))));
    } else {
      fill(rateText, h('span.muted', 'Measuring…'));
    }
    prev = { t: now, enq, deq };
  };
  show(b);
  rates.draw();
  let failed = false;
  poll(async () => {
    try {
      const nb = await api.get('/api/v1/broker');
      if (!ctx.signal.aborted) show(nb);
      if (failed) checkRole();
      failed = false;
    } catch (e) {
      if (!failed && !ctx.signal.aborted) {
        main.querySelector('.error')?.remove();
        facts.after(errorBox(e));
        checkRole();
      }
      failed = true;
    }
  }, POLL_MS, ctx.signal);
}
