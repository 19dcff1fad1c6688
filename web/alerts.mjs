// Notifications in the console: each one the server sends on the event
// stream (its words: title, body, buttons) shows as a notice on whatever
// page is open and, when the user allowed it, as a system notification
// with the same buttons (through the service worker, which acts on them
// when the page is gone). Notices of one call replace each other, as
// system notifications do (tag).
import { notificationOptions, offerOf } from './notify.mjs';
import { state } from './api.mjs';

let ui = null; // { h, showOffer, call, notice, renderSession }

export function init(deps) { ui = deps; }

const $ = (sel) => document.querySelector(sel);

export function clear() {
  $('#alerts').replaceChildren();
  state.statusText = {};
}

function remove(tag) {
  for (const el of document.querySelectorAll('#alerts [data-tag]')) if (el.dataset.tag === tag) el.remove();
}

export async function show(p) {
  const d = p.data || {};
  // An ad hoc offer is one the console asked for (Listen): it is on the
  // page already.
  const own = p.type === 'listen_offer' && d.source === 'ad_hoc';
  if (!own) systemNotification(p);
  remove(p.tag);
  switch (p.type) {
    case 'supervising_status':
      // The banner is this notice: it shows the session with its modes.
      state.statusText[d.session_id] = p.body;
      ui.renderSession();
      return;
    case 'session_ended':
      state.endedText = p.body;
      ui.renderSession();
      return;
    case 'listen_offer':
      if (own) return;
      break;
  }
  const { h } = ui;
  const buttons = (p.actions || []).map((a) => h('button', {
    type: 'button',
    // Named with the agent, so it is not a second plain "Listen" beside
    // the banner's mode button.
    'aria-label': `${a.title}: ${d.agent_name || d.agent_id || ''}`.replace(/: $/, ''),
    onclick: () => { card.remove(); act(p, a.action); },
  }, a.title));
  const card = h('section', { class: 'alert', 'data-tag': p.tag, 'data-type': p.type, 'aria-label': p.title },
    h('h2', {}, p.title),
    h('p', {}, p.body),
    h('div', { class: 'actions' }, buttons,
      h('button', { type: 'button', class: 'secondary', onclick: () => card.remove() }, 'Dismiss')));
  $('#alerts').prepend(card);
}

// act does what a notice's button asks, as the service worker does for a
// system notification's.
export async function act(p, action) {
  const d = p.data || {};
  if (p.type === 'listen_offer') {
    ui.showOffer(offerOf(d));
    return;
  }
  if (p.type === 'supervising_status') {
    try {
      await ui.call('PUT', `/supervising/sessions/${encodeURIComponent(d.session_id)}/mode`, { mode: action });
    } catch (e) { ui.notice(e.message, 'error'); }
  }
}

async function systemNotification(p) {
  if (!('Notification' in window) || Notification.permission !== 'granted' || !navigator.serviceWorker) return;
  try {
    const reg = await navigator.serviceWorker.ready;
    await reg.showNotification(p.title, notificationOptions(p));
  } catch (e) { /* the notice on the page is there anyway */ }
}
