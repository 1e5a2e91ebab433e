// The /v1 API as the pages call it: same origin, the session cookie, and
// the session's CSRF token on every request that changes something.
let csrf = null;

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || ('HTTP ' + status));
    this.status = status;
    this.problem = problem || {};
  }
  get type() { return (this.problem.type || '').replace('/problems/', ''); }
}

export async function request(method, path, body, headers = {}) {
  const h = Object.assign({ Accept: 'application/json' }, headers);
  if (method !== 'GET' && method !== 'HEAD' && csrf) h['X-CSRF-Token'] = csrf;
  const init = { method, headers: h, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  if (r.status === 401 && !path.startsWith('/v1/session')) {
    // The session ended (idle, signed out elsewhere, token revoked).
    window.location.assign('/');
    throw new ApiError(401, null);
  }
  const type = r.headers.get('Content-Type') || '';
  if (!r.ok) {
    let problem = null;
    if (type.includes('json')) problem = await r.json().catch(() => null);
    throw new ApiError(r.status, problem);
  }
  if (r.status === 204) return null;
  if (type.includes('json')) return r.json();
  return r.text();
}

export const get = (path) => request('GET', path);
export const post = (path, body = {}) => request('POST', path, body);

// Who is signed in; remembers the session's CSRF token.
export async function session() {
  const s = await request('GET', '/v1/session');
  csrf = s.csrf_token;
  return s;
}

export async function signIn(token) {
  const r = await fetch('/v1/session', {
    method: 'POST', credentials: 'same-origin', cache: 'no-store',
    headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' },
  });
  if (!r.ok) throw new ApiError(r.status, await r.json().catch(() => null));
  const s = await r.json();
  csrf = s.csrf_token;
  return s;
}

export async function signOut() {
  await request('DELETE', '/v1/session');
  csrf = null;
}

// Every item of a list, following next_cursor (at most pages pages).
export async function all(path, pages = 20) {
  const items = [];
  let cursor = null;
  for (let i = 0; i < pages; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const r = await get(path + (cursor ? sep + 'cursor=' + encodeURIComponent(cursor) : ''));
    items.push(...r.items);
    cursor = r.next_cursor;
    if (!cursor) break;
  }
  return items;
}

export const q = encodeURIComponent;
