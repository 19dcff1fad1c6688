// Earshot's web console: a supervisor's pages on the public API
// (/api/v1, documented in /api/v1/openapi.json) and nothing else. Plain
// JavaScript modules, no build step; the only third-party code is the
// QR encoder qrcode.mjs (qrcode-generator, MIT; web/vendor.sh rebuilds it).
import qrcode from './qrcode.mjs';
import { API, call, ApiError, state, setToken } from './api.mjs';
import { names, userName, poolName, learnNames } from './names.mjs';
import * as alerts from './alerts.mjs';
import * as device from './device.mjs';
import { offerOf } from './notify.mjs';
import * as legs from './leg.mjs';

const MODES = ['listen', 'whisper', 'barge'];

const $ = (sel) => document.querySelector(sel);

// h builds DOM nodes: text is always text, never markup.
export function h(tag, attrs = {}, ...children) {
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

function notice(text, kind = '') {
  const n = $('#notice');
  n.className = kind;
  n.textContent = text || '';
}

// Renders are asynchronous (they wait for the API); a slow one must not
// overwrite the page a newer one already drew. render numbers each
// render, and page draws only for the newest.
let renderSeq = 0;

function page(seq, title, ...content) {
  if (seq !== renderSeq) return false;
  document.title = `${title} · Earshot`;
  const main = $('#main');
  main.replaceChildren(h('h1', {}, title), ...content.filter((c) => c != null));
  for (const a of document.querySelectorAll('#nav a')) {
    a.toggleAttribute('aria-current', location.hash.startsWith(a.getAttribute('href')));
    if (a.hasAttribute('aria-current')) a.setAttribute('aria-current', 'page');
  }
  return true;
}

const time = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

export function duration(ms) {
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
    ? h('span', { class: 'badge on' }, `On a service call since ${time(u.on_call.since)} · `, since(u.on_call.since))
    : h('span', { class: 'badge' }, 'Not on a service call');
}

// listenButton asks for a listen offer for user u and shows it.
function listenButton(u) {
  return h('button', {
    type: 'button', disabled: !u.on_call, 'data-listen': u.id,
    onclick: async () => {
      try {
        const { offer } = await call('POST', `/users/${encodeURIComponent(u.id)}/listen`);
        showOffer({ ...offer, agent_name: u.name });
      } catch (e) { notice(e.message, 'error'); }
    },
  }, `Listen to ${u.name}`);
}

// listenHereButton joins user u's call with this browser's audio
// (docs/design.md §2.13), where the organization allows it.
function listenHereButton(u) {
  if (!(state.features || []).includes('browser_supervising')) return null;
  return h('button', {
    type: 'button', class: 'secondary', 'data-listen-here': u.id, 'data-on-call': !!u.on_call,
    disabled: !listenHereAllowed(u.id, !!u.on_call),
    onclick: async () => {
      try {
        const r = await call('POST', `/users/${encodeURIComponent(u.id)}/listen-here`);
        state.session = r.session;
        state.ended = null;
        state.endedText = null;
        withNames(r.session.agent, r.session.pool, renderSession);
      } catch (e) { notice(e.message, 'error'); }
    },
  }, 'Listen here');
}

// listenHereAllowed: the agent is on a call this console is not already
// supervising (a second Listen here would only be refused).
function listenHereAllowed(agent, onCall) {
  return onCall && window.isSecureContext && !(state.session && state.session.agent === agent);
}

// secureHint says why Listen here is off on a page that is not a secure
// context: browsers give audio worklets and the microphone only to HTTPS
// pages (and localhost), so the console must be served over HTTPS.
function secureHint() {
  if (window.isSecureContext || !(state.features || []).includes('browser_supervising')) return null;
  return h('p', { class: 'muted', 'data-secure-hint': '' },
    'Listen here needs the console over HTTPS (or on localhost): browsers give a page audio and the microphone only then.');
}

// syncListenHere keeps the Listen here buttons on screen in step with the
// live session, which changes without the page being drawn again.
function syncListenHere() {
  for (const b of document.querySelectorAll('[data-listen-here]')) {
    b.disabled = !listenHereAllowed(b.dataset.listenHere, b.hasAttribute('data-on-call'));
  }
}

// --- pages ---------------------------------------------------------------

function signInPage(message) {
  const seq = ++renderSeq;
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
        setToken(data.token);
        start();
      } catch (e) {
        notice(e.status === 401 ? 'Wrong user name or password.' : e.message, 'error');
      }
    },
  },
  h('label', { for: 'username' }, 'User name'), user,
  h('label', { for: 'password' }, 'Password'), pass,
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Sign in')));
  page(seq, 'Sign in', form);
  if (message) notice(message, 'error');
  user.focus();
}

async function poolsPage(seq) {
  const { pools } = await call('GET', '/pools');
  learnNames({ pools });
  page(seq, 'Service pools',
    pools.length === 0 ? h('p', {}, 'No pools you may supervise.') : null,
    h('ul', { class: 'list' }, pools.map((p) => h('li', {},
      h('a', { href: `#/pools/${encodeURIComponent(p.id)}` }, p.name),
      h('span', { class: p.agents_on_call ? 'badge on' : 'badge' },
        `${p.agents_on_call} of ${p.agents} agents on service calls`)))));
}

// since is a call's duration that ticks (the page-wide clock below).
const since = (iso) => h('span', { class: 'since', 'data-since': iso }, duration(new Date() - new Date(iso)));
setInterval(() => {
  for (const el of document.querySelectorAll('[data-since]')) el.textContent = duration(new Date() - new Date(el.dataset.since));
}, 1000);

const MODE_WORD = { listen: 'listening', whisper: 'whispering', barge: 'barging in' };

// watchers says who already supervises a call, and how: several may, and
// a colleague's barge should come as no surprise.
function watchers(onCall) {
  const sups = onCall.supervisors || [];
  if (sups.length === 0) return h('span', { class: 'watchers muted' }, 'Nobody supervises this call.');
  return h('span', { class: 'watchers' }, 'Supervised by ', sups.map((s, i) => [
    i > 0 ? ', ' : '',
    h('strong', {}, s.id === state.me ? 'you' : s.name), ` (${MODE_WORD[s.mode] || s.mode})`]).flat(), '.');
}

// poolTimer re-reads the pool's users while the page is open: colleagues'
// sessions are not on the caller's event stream.
let poolTimer = null;

async function poolPage(seq, id) {
  if (!names.pools.has(id)) learnNames({ pools: (await call('GET', '/pools')).pools });
  const data = await call('GET', `/pools/${encodeURIComponent(id)}/users`);
  learnNames({ users: data.users });
  if (!page(seq, poolName(id), staleNote(data),
    h('ul', { class: 'list', 'aria-label': 'Pool users' }, data.users.map((u) => h('li', { 'data-user': u.id },
      h('div', { class: 'who' },
        h('a', { href: `#/users/${encodeURIComponent(u.id)}` }, u.name),
        u.supervised ? h('span', { class: 'muted' }, ' · on your list') : null,
        u.on_call
          ? h('p', { class: 'call' }, h('span', { class: 'badge on' }, 'On a service call · ', since(u.on_call.since)), ' ', watchers(u.on_call))
          : h('p', { class: 'call' }, h('span', { class: 'badge' }, 'Not on a service call'))),
      u.on_call ? listenButton(u) : null))))) return;
  clearTimeout(poolTimer);
  const hash = location.hash;
  poolTimer = setTimeout(() => { if (location.hash === hash) refresh(); }, 5000);
}

async function userPage(seq, id) {
  const u = await call('GET', `/users/${encodeURIComponent(id)}`);
  learnNames({ users: [u] });
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
  if (!page(seq, u.name, staleNote(u), h('p', {}, status(u)),
    h('p', { class: 'muted' }, u.on_call
      ? ((state.features || []).includes('browser_supervising')
        ? 'Listen sends you an offer: call the supervising number from your registered phone to join in listen mode. Listen here joins in listen mode with this browser\'s audio; Whisper and Barge then ask for the microphone.'
        : 'Listen sends you an offer: call the supervising number from your registered phone to join in listen mode.')
      : 'Listen is possible while the user is on a service call.'),
    h('p', { class: 'actions' }, listenButton(u), ' ', listenHereButton(u), ' ', supervise),
    secureHint(),
    h('div', { id: 'offer' }))) return;
  renderOffer();
}

async function supervisedPage(seq) {
  const data = await call('GET', '/supervising/users');
  learnNames({ users: data.users });
  page(seq, 'Supervised users', staleNote(data),
    h('p', { class: 'muted' }, 'You get a notification whenever one of them is on a service call.'),
    data.users.length === 0 ? h('p', {}, 'Nobody yet: open a user and choose Supervise.') : null,
    h('ul', { class: 'list' }, data.users.map((u) => h('li', {},
      h('a', { href: `#/users/${encodeURIComponent(u.id)}` }, u.name), status(u)))));
}

async function settingsPage(seq) {
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
  page(seq, 'Supervising settings', form, device.settings(h, notice, () => render()));
}

// --- the offer panel after Listen ----------------------------------------

let offerTimer = null;

// showOffer shows a listen offer on the page: the user page's panel when
// it is the offer's agent's page, else the offer page.
export function showOffer(o) {
  state.offer = o;
  if ($('#offer') && location.hash === `#/users/${encodeURIComponent(o.agent)}`) renderOffer();
  else location.hash = '#/offer';
}

// offerPage shows the offer in state, or the one a notification's Listen
// button passes in the address (#/offer/<offer JSON>).
function offerPage(seq, m) {
  if (m && m[1]) {
    try { state.offer = JSON.parse(decodeURIComponent(m[1])); } catch (e) { state.offer = null; }
    history.replaceState(null, '', '#/offer');
  }
  const o = state.offer;
  if (!page(seq, o ? `Listen to ${o.agent_name || userName(o.agent)}` : 'Listen offer',
    o ? null : h('p', {}, 'No listen offer. Open a user on a service call and choose Listen.'),
    h('div', { id: 'offer' }))) return;
  renderOffer();
}

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
      h('p', {}, `To listen to ${o.agent_name || userName(o.agent)}, call the supervising number from your registered phone:`),
      h('p', { class: 'big' }, h('a', { href: o.dial_uri }, o.supervising_number)),
      h('p', {}, 'Valid for ', left, '. Scan the code to dial from your phone.'))));
  tick();
  offerTimer = setInterval(tick, 1000);
}

// --- the live session banner ---------------------------------------------

let sessionTimer = null;

export function renderSession() {
  const box = $('#session');
  clearInterval(sessionTimer);
  const s = state.session;
  syncListenHere();
  if (!s || s.leg !== 'browser') legs.leave();
  if (!s) {
    const ended = state.endedText || state.ended;
    box.hidden = !ended;
    box.replaceChildren(ended ? h('div', { class: 'row' }, h('strong', {}, 'Supervising ended'), h('span', {}, ended)) : '');
    return;
  }
  box.hidden = false;
  const since = h('span', { class: 'duration' });
  const tick = () => { since.textContent = duration(new Date() - new Date(s.started_at)); };
  const modeButton = (m) => h('button', {
    type: 'button', class: 'secondary', 'aria-pressed': String(s.mode === m), 'data-mode': m,
    onclick: async () => {
      try {
        // The microphone is asked for at the click (a user gesture), in
        // parallel with the switch.
        const mic = s.leg === 'browser' ? legs.setMode(m) : null;
        const r = await call('PUT', `/supervising/sessions/${encodeURIComponent(s.id)}/mode`, { mode: m });
        if (mic) await mic;
        if (state.session && state.session.id === r.id) { state.session = r; renderSession(); }
      } catch (e) { notice(e.message, 'error'); }
    },
  }, m[0].toUpperCase() + m.slice(1));
  box.replaceChildren(h('div', { class: 'row' },
    h('strong', {}, `Supervising ${userName(s.agent)}`),
    h('span', { class: 'muted' }, `${poolName(s.pool)} · `, since),
    // The mode in the server's words (its status notification), if any.
    state.statusText[s.id] ? h('span', { class: 'mode', 'data-mode': s.mode }, state.statusText[s.id]) : null,
    h('div', { class: 'modes', role: 'group', 'aria-label': 'Mode' },
      MODES.map(modeButton),
      h('button', {
        type: 'button', class: 'danger',
        onclick: async () => {
          try { await call('DELETE', `/supervising/sessions/${encodeURIComponent(s.id)}`); } catch (e) { notice(e.message, 'error'); }
        },
      }, 'Hang up')),
    s.leg === 'browser' ? legStatus(s) : null));
  tick();
  sessionTimer = setInterval(tick, 1000);
}

// legStatus is a browser session's audio: its connection state in words
// and a level meter of what the supervisor hears. The banner is redrawn
// on every session event, so the leg finds the current elements by id.
function showLeg(l) {
  const text = $('#leg-state');
  if (text) {
    text.textContent = legs.STATE_TEXT[l.state] || l.state;
    text.dataset.state = l.state;
  }
}

function showLevel(v) {
  const m = $('#leg-level');
  if (m) m.value = v;
}

function legStatus(s) {
  const box = h('div', { class: 'leg', role: 'status' },
    h('span', { id: 'leg-state', class: 'leg-state' }), ' ',
    h('meter', { id: 'leg-level', min: '0', max: '1', value: '0', 'aria-label': 'Level of the call audio' }));
  const l = legs.current();
  if (l && l.id === s.id) {
    queueMicrotask(() => showLeg(l));
    legs.setMode(s.mode).catch((e) => notice(e.message, 'error'));
  } else {
    legs.join(s, showLeg, showLevel).catch((e) => notice(`Audio could not start: ${e.message}`, 'error'));
  }
  return box;
}

// withNames renders after the names of a session's agent and pool are
// known, so the banner says "Alice Agent", not "alice".
async function withNames(agent, pool, draw) {
  draw();
  if (names.users.has(agent) && names.pools.has(pool)) return;
  try {
    if (!names.users.has(agent)) learnNames({ users: [await call('GET', `/users/${encodeURIComponent(agent)}`)] });
    if (!names.pools.has(pool)) learnNames({ pools: (await call('GET', '/pools')).pools });
  } catch (e) { /* the id stands in for the name */ }
  draw();
}

// --- live updates: /api/v1/events ----------------------------------------

function connection(text) {
  const c = $('#connection');
  c.hidden = !text;
  c.textContent = text || '';
}

// EventSource cannot send the Authorization header, so the stream is read
// with fetch and parsed here. A broken stream is said on the page (live
// updates stopped) and retried; once it is back, the page and the session
// are read again, since events may have been missed meanwhile.
async function stream() {
  const ctrl = new AbortController();
  state.stream = ctrl;
  let broken = false;
  let delay = 1000;
  while (!ctrl.signal.aborted) {
    try {
      const r = await fetch(`${API}/events`, { headers: { Authorization: `Bearer ${state.token}` }, signal: ctrl.signal });
      if (r.status === 401) { signOut('Your sign-in has expired. Please sign in again.'); return; }
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      if (broken) {
        broken = false;
        connection('');
        loadSession();
        refresh();
      }
      delay = 1000;
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
    if (ctrl.signal.aborted) return;
    broken = true;
    connection('Live updates stopped: the connection to Earshot was lost. Reconnecting…');
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 15000);
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
      state.endedText = null;
      state.offer = null;
      withNames(ev.agent, ev.pool, renderSession);
      renderOffer();
      refresh();
      break;
    case 'session_ended':
      if (state.session && state.session.id !== ev.id) break;
      state.session = null;
      legs.leave();
      state.endedText = null; // the status notification's words follow
      withNames(ev.agent, ev.pool, () => {
        state.ended = `${userName(ev.agent)}: ${ev.reason_text || ev.reason || 'ended'}.`;
        if (!state.session) renderSession();
      });
      refresh();
      break;
    case 'offer_withdrawn':
      if (state.offer && state.offer.id === ev.id) {
        state.offer = null;
        renderOffer();
        notice(`${userName(ev.agent)}'s call ended before you dialled in.`);
      }
      break;
    case 'notification':
      learnNames({ users: [{ id: ev.data.agent_id, name: ev.data.agent_name }], pools: [{ id: ev.data.pool_id, name: ev.data.pool_name }] });
      alerts.show(ev);
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
  [/^#\/pools\/([^/]+)$/, (seq, m) => poolPage(seq, decodeURIComponent(m[1]))],
  [/^#\/pools$/, poolsPage],
  [/^#\/users\/([^/]+)$/, (seq, m) => userPage(seq, decodeURIComponent(m[1]))],
  [/^#\/supervised$/, supervisedPage],
  [/^#\/settings$/, settingsPage],
  [/^#\/offer(?:\/(.+))?$/, offerPage],
];

async function render() {
  if (!state.token) { signInPage(); return; }
  const seq = ++renderSeq;
  const hash = location.hash || '#/pools';
  for (const [re, view] of routes) {
    const m = hash.match(re);
    if (m) {
      try { await view(seq, m); } catch (e) { if (e.status !== 401 && seq === renderSeq) notice(e.message, 'error'); }
      return;
    }
  }
  location.hash = '#/pools';
}

function signOut(message) {
  device.forget(state.token);
  setToken(null);
  if (state.stream) state.stream.abort();
  legs.leave();
  state.session = null;
  state.ended = null;
  state.offer = null;
  state.endedText = null;
  names.users.clear();
  names.pools.clear();
  alerts.clear();
  connection('');
  $('#nav').hidden = true;
  renderSession();
  signInPage(message);
}
state.onSignedOut = () => signOut('Your sign-in has expired. Please sign in again.');

async function loadSession() {
  try {
    const { sessions } = await call('GET', '/supervising/sessions');
    state.session = sessions[0] || null;
    if (state.session) withNames(state.session.agent, state.session.pool, renderSession);
    else renderSession();
  } catch (e) { /* shown by the page */ }
}

async function start() {
  $('#nav').hidden = false;
  notice('');
  stream();
  await call('GET', '/me').then((me) => { state.me = me.user.id; state.features = me.features; }).catch(() => {});
  await loadSession();
  if (!state.token) return;
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
alerts.init({ h, showOffer, call, notice, renderSession });
device.init({ open: (hash) => { location.hash = hash; } });
if (state.token) start(); else signInPage();
