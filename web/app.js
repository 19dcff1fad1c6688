// Earshot's web console: a supervisor's pages on the public API
// (/api/v1, documented in /api/v1/openapi.json) and nothing else. Plain
// JavaScript modules, no build step; the only third-party code is the
// QR encoder qrcode.mjs (qrcode-generator, MIT; web/vendor.sh rebuilds it).
import qrcode from './qrcode.mjs';

const API = '/api/v1';
const TOKEN = 'earshot.token';
const MODES = ['listen', 'whisper', 'barge'];
const MODE_TEXT = {
  listen: 'Listening: neither the agent nor the customer hears you.',
  whisper: 'Whispering: only the agent hears you.',
  barge: 'Barging in: the agent and the customer hear you.',
};

const state = {
  token: sessionStorage.getItem(TOKEN),
  session: null,     // the live session, from the API and the event stream
  ended: null,       // why the last session ended, shown until the next
  offer: null,       // the last Listen offer, while valid
  stream: null,      // AbortController of the event stream
  view: null,        // the function that renders the current page
};

const $ = (sel) => document.querySelector(sel);

// h builds DOM nodes: text is always text, never markup.
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

async function call(method, path, body) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401 && state.token) {
    signOut('Your sign-in has expired. Please sign in again.');
    throw new ApiError(401, { title: 'Signed out' });
  }
  if (r.status === 204) return null;
  const data = await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

function notice(text, kind = '') {
  const n = $('#notice');
  n.className = kind;
  n.textContent = text || '';
}

function page(title, ...content) {
  document.title = `${title} · Earshot`;
  const main = $('#main');
  main.replaceChildren(h('h1', {}, title), ...content.filter((c) => c != null));
  for (const a of document.querySelectorAll('#nav a')) {
    a.toggleAttribute('aria-current', location.hash.startsWith(a.getAttribute('href')));
    if (a.hasAttribute('aria-current')) a.setAttribute('aria-current', 'page');
  }
}

const time = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function staleNote(data) {
  return data && data.stale
    ? h('p', { class: 'panel', role: 'status' }, `Live status may be out of date: ${data.stale_reason || 'phone system unreachable'}.`)
    : null;
}

function status(u) {
  return u.on_call
    ? h('span', { class: 'badge on' }, `On a service call since ${time(u.on_call.since)}`)
    : h('span', { class: 'badge' }, 'Not on a service call');
}

// --- pages ---------------------------------------------------------------

function signInPage(message) {
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      notice('');
      try {
        const r = await fetch(`${API}/auth/login`, {
          method: 'POST', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ username: user.value, password: pass.value }),
        });
        const data = await r.json().catch(() => ({}));
        if (!r.ok) throw new ApiError(r.status, data);
        if (!(data.features || []).includes('supervising')) {
          notice('Supervising is not enabled for your organization. Ask your administrator.', 'error');
          return;
        }
        state.token = data.token;
        sessionStorage.setItem(TOKEN, data.token);
        start();
      } catch (e) {
        notice(e.status === 401 ? 'Wrong user name or password.' : e.message, 'error');
      }
    },
  },
  h('label', { for: 'username' }, 'User name'), user,
  h('label', { for: 'password' }, 'Password'), pass,
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Sign in')));
  page('Sign in', form);
  if (message) notice(message, 'error');
  user.focus();
}

// poolNames caches pool names for the pool page's heading, so a live
// refresh of that page is one request, not two.
const poolNames = new Map();
const rememberPools = (pools) => { for (const p of pools) poolNames.set(p.id, p.name); };

async function poolsPage() {
  const { pools } = await call('GET', '/pools');
  rememberPools(pools);
  page('Service pools',
    pools.length === 0 ? h('p', {}, 'No pools you may supervise.') : null,
    h('ul', { class: 'list' }, pools.map((p) => h('li', {},
      h('a', { href: `#/pools/${encodeURIComponent(p.id)}` }, p.name),
      h('span', { class: p.agents_on_call ? 'badge on' : 'badge' },
        `${p.agents_on_call} of ${p.agents} agents on service calls`)))));
}

async function poolPage(id) {
  if (!poolNames.has(id)) {
    rememberPools((await call('GET', '/pools')).pools);
  }
  const data = await call('GET', `/pools/${encodeURIComponent(id)}/users`);
  page(poolNames.get(id) || id, staleNote(data),
    h('ul', { class: 'list', 'aria-label': 'Pool users' }, data.users.map((u) => h('li', { 'data-user': u.id },
      h('a', { href: `#/users/${encodeURIComponent(u.id)}` }, u.name),
      h('span', {}, status(u), u.supervised ? h('span', { class: 'muted' }, ' · supervised') : null)))));
}

async function userPage(id) {
  const u = await call('GET', `/users/${encodeURIComponent(id)}`);
  const listen = h('button', {
    type: 'button', disabled: !u.on_call,
    onclick: async () => {
      try {
        const { offer } = await call('POST', `/users/${encodeURIComponent(id)}/listen`);
        state.offer = offer;
        renderOffer();
      } catch (e) { notice(e.message, 'error'); }
    },
  }, 'Listen');
  const supervise = h('button', {
    type: 'button', class: 'secondary',
    onclick: async () => {
      try {
        await call(u.supervised ? 'DELETE' : 'PUT', `/supervising/users/${encodeURIComponent(id)}`);
        notice(u.supervised ? `You no longer supervise ${u.name}.` : `You supervise ${u.name}: you get a notification whenever they are on a service call.`);
        render();
      } catch (e) { notice(e.message, 'error'); }
    },
  }, u.supervised ? 'Stop supervising' : 'Supervise');
  page(u.name, staleNote(u), h('p', {}, status(u)),
    h('p', { class: 'muted' }, u.on_call
      ? 'Listen sends you an offer: call the supervising number from your registered phone to join in listen mode.'
      : 'Listen is possible while the user is on a service call.'),
    h('p', { class: 'actions' }, listen, ' ', supervise),
    h('div', { id: 'offer' }));
  renderOffer();
}

async function supervisedPage() {
  const data = await call('GET', '/supervising/users');
  page('Supervised users', staleNote(data),
    h('p', { class: 'muted' }, 'You get a notification whenever one of them is on a service call.'),
    data.users.length === 0 ? h('p', {}, 'Nobody yet: open a user and choose Supervise.') : null,
    h('ul', { class: 'list' }, data.users.map((u) => h('li', {},
      h('a', { href: `#/users/${encodeURIComponent(u.id)}` }, u.name), status(u)))));
}

async function settingsPage() {
  const s = await call('GET', '/supervising/settings');
  const input = h('input', { id: 'phone', name: 'phone_number', type: 'tel', autocomplete: 'tel', value: s.phone_number || '', 'aria-describedby': 'phone-help phone-error' });
  const err = h('p', { id: 'phone-error', class: 'field-error', role: 'alert' });
  const form = h('form', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      input.removeAttribute('aria-invalid');
      try {
        const saved = await call('PUT', '/supervising/settings', { phone_number: input.value.trim() === '' ? null : input.value });
        input.value = saved.phone_number || '';
        notice(saved.phone_number ? `Saved. Call the supervising number from ${saved.phone_number}.` : 'Phone number removed.');
      } catch (e) {
        const field = (e.problem.errors || []).find((f) => f.field === 'phone_number');
        err.textContent = field ? field.detail : e.message;
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      }
    },
  },
  h('label', { for: 'phone' }, 'Your phone number'),
  h('p', { id: 'phone-help', class: 'muted' }, 'Earshot recognises you by the number you call the supervising number from. International form (+358…) or your country\'s usual form.'),
  input, err,
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save')));
  page('Supervising settings', form);
}

// --- the offer panel after Listen ----------------------------------------

let offerTimer = null;

function renderOffer() {
  const box = $('#offer');
  clearInterval(offerTimer);
  if (!box) return;
  const o = state.offer;
  if (!o || new Date(o.expires_at) <= new Date()) {
    box.replaceChildren();
    return;
  }
  const qr = qrcode(0, 'M');
  qr.addData(o.dial_uri);
  qr.make();
  const img = h('div', { class: 'qr', role: 'img', 'aria-label': `QR code of ${o.dial_uri}` });
  img.innerHTML = qr.createSvgTag({ cellSize: 4, margin: 2, scalable: true });
  const left = h('span', { class: 'countdown' });
  const tick = () => {
    const ms = new Date(o.expires_at) - new Date();
    if (ms <= 0) {
      state.offer = null;
      box.replaceChildren(h('p', { class: 'panel' }, 'The offer expired. Choose Listen again.'));
      clearInterval(offerTimer);
      return;
    }
    left.textContent = duration(ms);
  };
  box.replaceChildren(h('section', { class: 'panel offer', 'aria-label': 'Listen offer' },
    img,
    h('div', {},
      h('p', {}, 'Call the supervising number from your registered phone:'),
      h('p', { class: 'big' }, h('a', { href: o.dial_uri }, o.supervising_number)),
      h('p', {}, 'Valid for ', left, '. Scan the code to dial from your phone.'))));
  tick();
  offerTimer = setInterval(tick, 1000);
}

// --- the live session banner ---------------------------------------------

let sessionTimer = null;

function renderSession() {
  const box = $('#session');
  clearInterval(sessionTimer);
  const s = state.session;
  if (!s) {
    box.hidden = !state.ended;
    box.replaceChildren(state.ended ? h('div', { class: 'row' }, h('strong', {}, 'Supervising ended'), h('span', {}, state.ended)) : '');
    return;
  }
  box.hidden = false;
  const since = h('span', { class: 'duration' });
  const tick = () => { since.textContent = duration(new Date() - new Date(s.started_at)); };
  const modeButton = (m) => h('button', {
    type: 'button', class: 'secondary', 'aria-pressed': String(s.mode === m),
    onclick: async () => {
      try {
        const r = await call('PUT', `/supervising/sessions/${encodeURIComponent(s.id)}/mode`, { mode: m });
        if (state.session && state.session.id === r.id) { state.session = r; renderSession(); }
      } catch (e) { notice(e.message, 'error'); }
    },
  }, m[0].toUpperCase() + m.slice(1));
  box.replaceChildren(h('div', { class: 'row' },
    h('strong', {}, `Supervising ${s.agent}`),
    h('span', { class: 'muted' }, `Pool ${s.pool} · `, since),
    h('span', { class: 'mode', 'data-mode': s.mode }, MODE_TEXT[s.mode] || s.mode),
    h('div', { class: 'modes', role: 'group', 'aria-label': 'Mode' },
      MODES.map(modeButton),
      h('button', {
        type: 'button', class: 'danger',
        onclick: async () => {
          try { await call('DELETE', `/supervising/sessions/${encodeURIComponent(s.id)}`); } catch (e) { notice(e.message, 'error'); }
        },
      }, 'Hang up'))));
  tick();
  sessionTimer = setInterval(tick, 1000);
}

// --- live updates: /api/v1/events ----------------------------------------

// EventSource cannot send the Authorization header, so the stream is read
// with fetch and parsed here; it reconnects after a second.
async function stream() {
  const ctrl = new AbortController();
  state.stream = ctrl;
  while (!ctrl.signal.aborted) {
    try {
      const r = await fetch(`${API}/events`, { headers: { Authorization: `Bearer ${state.token}` }, signal: ctrl.signal });
      if (r.status === 401) { signOut('Your sign-in has expired. Please sign in again.'); return; }
      if (!r.ok) throw new Error(`events: HTTP ${r.status}`);
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          dispatch(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
      }
    } catch (e) {
      if (ctrl.signal.aborted) return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function dispatch(chunk) {
  let name = 'message';
  let data = '';
  for (const line of chunk.split('\n')) {
    if (line.startsWith('event:')) name = line.slice(6).trim();
    else if (line.startsWith('data:')) data += line.slice(5).trim();
  }
  if (!data) return;
  const ev = JSON.parse(data);
  switch (name) {
    case 'session_started':
    case 'mode_changed':
      state.session = ev;
      state.ended = null;
      state.offer = null;
      renderSession();
      renderOffer();
      break;
    case 'session_ended':
      state.session = null;
      state.ended = `${ev.agent}: ${ev.reason || 'ended'}.`;
      renderSession();
      break;
    case 'offer_withdrawn':
      if (state.offer && state.offer.id === ev.id) {
        state.offer = null;
        renderOffer();
        notice(`${ev.agent}'s call ended before you dialled in.`);
      }
      break;
    case 'call_started':
    case 'call_ended':
      refresh();
      break;
  }
}

// refresh re-renders a page that shows call status, at most every 250 ms.
let refreshing = null;
function refresh() {
  if (refreshing || !/^#\/(pools|users|supervised)/.test(location.hash)) return;
  refreshing = setTimeout(() => { refreshing = null; render(); }, 250);
}

// --- routing -------------------------------------------------------------

const routes = [
  [/^#\/pools\/([^/]+)$/, (m) => poolPage(decodeURIComponent(m[1]))],
  [/^#\/pools$/, poolsPage],
  [/^#\/users\/([^/]+)$/, (m) => userPage(decodeURIComponent(m[1]))],
  [/^#\/supervised$/, supervisedPage],
  [/^#\/settings$/, settingsPage],
];

async function render() {
  if (!state.token) { signInPage(); return; }
  const hash = location.hash || '#/pools';
  for (const [re, view] of routes) {
    const m = hash.match(re);
    if (m) {
      try { await view(m); } catch (e) { if (e.status !== 401) notice(e.message, 'error'); }
      return;
    }
  }
  location.hash = '#/pools';
}

function signOut(message) {
  state.token = null;
  sessionStorage.removeItem(TOKEN);
  if (state.stream) state.stream.abort();
  state.session = null;
  state.ended = null;
  state.offer = null;
  poolNames.clear();
  $('#nav').hidden = true;
  renderSession();
  signInPage(message);
}

async function start() {
  $('#nav').hidden = false;
  notice('');
  stream();
  try {
    const { sessions } = await call('GET', '/supervising/sessions');
    state.session = sessions[0] || null;
    renderSession();
  } catch (e) { /* shown by the page */ }
  if (!location.hash || location.hash === '#/') location.hash = '#/pools';
  else render();
}

// The skip link focuses the content without touching the route.
document.querySelector('a.skip').addEventListener('click', (ev) => {
  ev.preventDefault();
  $('#main').focus();
});
window.addEventListener('hashchange', () => { notice(''); render(); });
$('#signout').addEventListener('click', () => { signOut(); });
if (state.token) start(); else signInPage();
