// This device: the service worker (offline shell, Web Push, notification
// buttons), the sign-in it acts with, and the settings for notifications
// on this device: system notifications (the Notification API) and Web
// Push while the console is closed.
import { call, state, onToken, API } from './api.mjs';

const PUSH_ID = 'earshot.webpush';
const sw = () => ('serviceWorker' in navigator ? navigator.serviceWorker : null);

// init registers the service worker and hands it the sign-in; open is
// called when a notification asks to show a page (a hash).
export function init({ open }) {
  const c = sw();
  if (!c) return;
  c.register('/console/sw.js', { type: 'module', scope: '/' }).catch(() => { /* the console works without */ });
  c.addEventListener('message', (ev) => {
    if (ev.data && ev.data.type === 'open') open(ev.data.hash);
  });
  onToken(tell);
  tell(state.token);
  // A browser subscribed before keeps its subscription current (a new
  // VAPID key after a rotation makes a new one).
  if (state.token && localStorage.getItem(PUSH_ID)) enablePush().catch(() => {});
}

async function tell(token) {
  const c = sw();
  if (!c) return;
  const reg = await c.ready;
  if (reg.active) reg.active.postMessage({ type: 'token', token });
}

// forget removes this browser's Web Push subscription at sign-out, with
// the token still in hand: the next user of this browser must not get
// the last one's notifications.
export async function forget(token) {
  const id = localStorage.getItem(PUSH_ID);
  localStorage.removeItem(PUSH_ID);
  if (!id || !token) return;
  await fetch(`${API}/webpush/subscriptions/${encodeURIComponent(id)}`, {
    method: 'DELETE', headers: { Authorization: `Bearer ${token}` },
  }).catch(() => {});
  const reg = sw() && await sw().getRegistration('/');
  const sub = reg && await reg.pushManager.getSubscription();
  if (sub) await sub.unsubscribe().catch(() => {});
}

const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
function bytes(s) {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function enablePush() {
  const reg = await sw().ready;
  const { public_key: key } = await call('GET', '/webpush/key');
  let sub = await reg.pushManager.getSubscription();
  if (sub && (!sub.options.applicationServerKey || b64(sub.options.applicationServerKey) !== key)) {
    await sub.unsubscribe();
    sub = null;
  }
  if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes(key) });
  const { id } = await call('POST', '/webpush/subscriptions', sub.toJSON());
  localStorage.setItem(PUSH_ID, id);
}

async function disablePush() {
  await forget(state.token);
}

// settings is the settings page's section for this device.
export function settings(h, notice, redraw) {
  const supported = 'Notification' in window && sw();
  if (!supported) {
    return h('section', { 'aria-labelledby': 'device-h' }, h('h2', { id: 'device-h' }, 'Notifications on this device'),
      h('p', {}, 'This browser cannot show notifications; the console shows them on its pages.'));
  }
  const perm = Notification.permission;
  const pushOn = !!localStorage.getItem(PUSH_ID);
  const status = perm === 'granted'
    ? (pushOn ? 'System notifications are on, also while the console is closed.' : 'System notifications are on while the console is open.')
    : perm === 'denied'
      ? 'This browser blocks Earshot\'s notifications; allow them in the site settings to get them outside the page.'
      : 'Notifications show on the console\'s pages. Allow them to get system notifications too.';
  const run = (f, done) => async () => {
    try { await f(); notice(done); } catch (e) { notice(`Not possible here: ${e.message}`, 'error'); }
    redraw();
  };
  return h('section', { 'aria-labelledby': 'device-h' },
    h('h2', { id: 'device-h' }, 'Notifications on this device'),
    h('p', { id: 'device-status' }, status),
    h('p', { class: 'actions' },
      perm === 'default' ? h('button', { type: 'button', onclick: run(() => Notification.requestPermission(), 'Done.') }, 'Allow notifications') : null,
      perm === 'granted' && !pushOn ? h('button', { type: 'button', class: 'secondary', onclick: run(enablePush, 'You get notifications also while the console is closed.') }, 'Notify me also when the console is closed') : null,
      pushOn ? h('button', { type: 'button', class: 'secondary', onclick: run(disablePush, 'Notifications stop when the console is closed.') }, 'Stop notifications when the console is closed') : null));
}
