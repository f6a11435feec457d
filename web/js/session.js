// The signed-in token (sessionStorage: this tab only, gone when it closes)
// and the HTTP API (contract §5) called with it.

const TOKEN_KEY = 'huxiao.token';

export function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function storeToken(token) {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    /* private mode: the token lives in memory only */
  }
}

export function forgetToken() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* nothing stored */
  }
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

// GET a JSON resource under /api/v1; throws ApiError with the contract's
// {"error","message"} on failure.
export async function apiGet(token, path, { signal } = {}) {
  let res;
  try {
    res = await fetch(`/api/v1${path}`, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
      cache: 'no-store',
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'the server cannot be reached');
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    throw new ApiError(res.status, body && body.error, body && body.message);
  }
  return body;
}

export function consoleSocketUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws/console`;
}

// GET a file under /api/v1 (a CSV report) with the token; resolves with
// {text, filename} where filename comes from Content-Disposition.
export async function apiGetText(token, path, { signal } = {}) {
  let res;
  try {
    res = await fetch(`/api/v1${path}`, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'text/csv' },
      cache: 'no-store',
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'the server cannot be reached');
  }
  const text = await res.text();
  if (!res.ok) {
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    throw new ApiError(res.status, body && body.error, body && body.message);
  }
  const m = /filename="?([^";]+)"?/.exec(res.headers.get('Content-Disposition') || '');
  return { text, filename: m ? m[1] : '' };
}

// Saves `text` as a file through a Blob link (the token never goes in a URL).
export function saveText(text, filename, type = 'text/csv;charset=utf-8') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// POST a JSON body to /api/v1; resolves with the JSON answer, throws ApiError
// (its `field` names the refused field of a 400) on failure.
export async function apiPost(token, path, body) {
  let res;
  try {
    res = await fetch(`/api/v1${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', 'Content-Type': 'application/json' },
      cache: 'no-store',
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'the server cannot be reached');
  }
  let answer = null;
  try {
    answer = await res.json();
  } catch {
    answer = null;
  }
  if (!res.ok) {
    const err = new ApiError(res.status, answer && answer.error, answer && answer.message);
    err.field = answer && answer.field;
    throw err;
  }
  return answer;
}
