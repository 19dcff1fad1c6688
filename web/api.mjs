// The console's state shared by its modules, and its one way to call the
// API: the signed-in token goes with every request, and a 401 signs out.
export const API = '/api/v1';
const TOKEN = 'earshot.token';

export const state = {
  token: sessionStorage.getItem(TOKEN),
  session: null,     // the live session, from the API and the event stream
  ended: null,       // why the last session ended, shown until the next
  offer: null,       // the last Listen offer, while valid
  statusText: {},    // session id → its mode in the server's words
  endedText: null,   // the last session's end in the server's words
  stream: null,      // AbortController of the event stream
  onSignedOut: null, // called when the API says the token is no longer good
};

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

// setToken keeps the sign-in for this tab, and tells listeners (the
// service worker, which acts on notification buttons) of the change.
export function setToken(token) {
  state.token = token;
  if (token) sessionStorage.setItem(TOKEN, token);
  else sessionStorage.removeItem(TOKEN);
  for (const f of tokenListeners) f(token);
}
const tokenListeners = [];
export const onToken = (f) => tokenListeners.push(f);

export async function call(method, path, body) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let r;
  try {
    r = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, { title: 'Earshot is unreachable: check the connection. The console shows what it can until it is back.' });
  }
  if (r.status === 401 && state.token) {
    if (state.onSignedOut) state.onSignedOut();
    throw new ApiError(401, { title: 'Signed out' });
  }
  if (r.status === 204) return null;
  const data = await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}
