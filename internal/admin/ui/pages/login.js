// The login form: a user of the broker's security configuration.
import * as api from '../api.js';
import { h, fill } from '../dom.js';

export async function render(main, ctx) {
  main.dataset.title = 'Log in';
  const err = h('p.error#login-error', { role: 'alert', hidden: true });
  const user = h('input#login-user', { name: 'user', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const pw = h('input#login-password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button.primary#login-submit', { type: 'submit' }, 'Log in');
  const form = h('form.login', { 'aria-labelledby': 'login-title' },
    h('h1#login-title', 'Log in to Pier'),
    h('label', 'User', user),
    h('label', 'Password', pw),
    err, submit);
  const pending = sessionStorage.getItem('pier.error');
  if (pending) {
    sessionStorage.removeItem('pier.error');
    err.textContent = pending;
    err.hidden = false;
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    err.hidden = true;
    try {
      await api.login(user.value, pw.value);
      const next = sessionStorage.getItem('pier.next') || '';
      sessionStorage.removeItem('pier.next');
      ctx.onLogin(next);
    } catch (e) {
      err.textContent = e.status === 401 ? 'Wrong user or password.' + (e.message ? ` (${e.message})` : '') : e.message;
      err.hidden = false;
      pw.select();
    } finally {
      submit.disabled = false;
    }
  });
  fill(main, form);
  user.focus();
}
