// Earshot console's service worker: keeps the console's shell available
// offline, shows Web Push notifications, and acts on their buttons
// (Listen opens the offer; Whisper / Barge / Listen switch the mode) with
// the sign-in the console handed over. Served from /console/ with
// Service-Worker-Allowed: / so that it controls the console at /.
import { notificationOptions, offerOf } from './notify.mjs';

const SHELL = 'earshot-shell-v2';
const AUTH = 'earshot-auth';
const TOKEN_URL = '/console/.signed-in';
const FILES = ['/', '/console/app.js', '/console/api.mjs', '/console/names.mjs', '/console/alerts.mjs',
  '/console/device.mjs', '/console/notify.mjs', '/console/qrcode.mjs', '/console/leg.mjs', '/console/leg-worklet.js', '/console/style.css',
  '/console/icon.svg', '/console/icon-192.png', '/console/manifest.webmanifest'];

self.addEventListener('install', (ev) => {
  ev.waitUntil(caches.open(SHELL).then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil((async () => {
    for (const k of await caches.keys()) if (k !== SHELL && k !== AUTH) await caches.delete(k);
    await self.clients.claim();
  })());
});

// The shell: the network first (an upgrade shows at once), the cached
// copy when Earshot is unreachable. The API is never cached.
self.addEventListener('fetch', (ev) => {
  const url = new URL(ev.request.url);
  if (ev.request.method !== 'GET' || url.origin !== location.origin) return;
  const shell = ev.request.mode === 'navigate' || (url.pathname.startsWith('/console/') && url.pathname !== TOKEN_URL);
  if (!shell) return;
  ev.respondWith((async () => {
    try {
      const r = await fetch(ev.request);
      if (r.ok) {
        const copy = r.clone();
        caches.open(SHELL).then((c) => c.put(ev.request.mode === 'navigate' ? '/' : ev.request, copy));
      }
      return r;
    } catch (e) {
      const cached = await caches.match(ev.request.mode === 'navigate' ? '/' : ev.request);
      if (cached) return cached;
      throw e;
    }
  })());
});

// The console hands over its sign-in (and takes it back at sign-out), so
// that notification buttons act as the signed-in supervisor.
self.addEventListener('message', (ev) => {
  const m = ev.data || {};
  if (m.type !== 'token') return;
  ev.waitUntil((async () => {
    const c = await caches.open(AUTH);
    if (m.token) await c.put(TOKEN_URL, new Response(m.token));
    else await c.delete(TOKEN_URL);
  })());
});

async function token() {
  const r = await (await caches.open(AUTH)).match(TOKEN_URL);
  return r ? r.text() : null;
}

self.addEventListener('push', (ev) => {
  let p = null;
  try { p = ev.data && ev.data.json(); } catch (e) { /* not ours */ }
  if (!p || !p.title) return;
  ev.waitUntil(self.registration.showNotification(p.title, notificationOptions(p)));
});

self.addEventListener('notificationclick', (ev) => {
  ev.notification.close();
  const done = act(ev.notification.data || {}, ev.action);
  // A trusted click keeps the worker alive until the action is done; a
  // synthetic one (dispatched by a test) cannot be extended, and needs
  // not be.
  try { ev.waitUntil(done); } catch (e) { /* synthetic event */ }
});

// act does what a notification's button (or the notification itself)
// asks.
async function act(p, action) {
  const data = p.data || {};
  if (p.type === 'supervising_status' && ['listen', 'whisper', 'barge'].includes(action)) {
    return setMode(data, action);
  }
  if (p.type === 'listen_offer') {
    return openConsole(`#/offer/${encodeURIComponent(JSON.stringify(offerOf(data)))}`);
  }
  return openConsole('#/pools');
}

async function setMode(data, mode) {
  const tok = await token();
  if (!tok) return openConsole('#/pools');
  const r = await fetch(`/api/v1/supervising/sessions/${encodeURIComponent(data.session_id)}/mode`, {
    method: 'PUT', headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ mode }),
  }).catch(() => null);
  if (r && r.ok) return; // the server's new status notification follows
  if (r && r.status === 401) return openConsole('#/pools');
  const problem = r ? await r.json().catch(() => ({})) : {};
  await self.registration.showNotification('Earshot', {
    body: problem.detail || 'Earshot is unreachable: the mode was not changed.',
    tag: `${data.session_id}-error`, icon: '/console/icon-192.png',
  });
}

// openConsole shows the console at hash: an open window is focused and
// told where to go; otherwise a new one opens.
async function openConsole(hash) {
  const wins = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const w of wins) {
    if (new URL(w.url).origin !== location.origin) continue;
    w.postMessage({ type: 'open', hash });
    return w.focus().catch(() => {});
  }
  return self.clients.openWindow(`/${hash}`);
}
