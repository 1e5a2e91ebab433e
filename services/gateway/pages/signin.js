// The sign-in page: the API token is exchanged for the session cookie, then
// the app loads in its place. The token is never stored by the page.
import { signIn } from './api.js';
import { apply, t } from './i18n.js';
import { focus, h, put } from './dom.js';

const form = document.getElementById('signin');
const input = document.getElementById('token');
const box = document.getElementById('signin-error');

function render() {
  apply(document, document.getElementById('langs'), render);
  document.title = t('signin.title') + ' – workhealth';
}

function fail(text) {
  input.setAttribute('aria-invalid', 'true');
  put(box, h('h2', null, t('signin.problem')), h('p', null, h('a', { href: '#token' }, text)));
  box.hidden = false;
  focus(box);
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const token = input.value.trim();
  if (!token) { fail(t('signin.empty')); return; }
  const button = document.getElementById('signin-submit');
  button.disabled = true;
  try {
    await signIn(token);
    input.value = '';
    window.location.replace('/');
  } catch (e) {
    button.disabled = false;
    fail(e.status === 401 ? t('signin.bad') : e.status === 403 ? t('signin.role')
      : t('signin.other', { detail: e.message }));
  }
});
box.addEventListener('click', (ev) => {
  if (ev.target.tagName === 'A') { ev.preventDefault(); input.focus(); }
});

render();
