// A notification (the server's push.Payload: title, body, tag, actions,
// data, in the server's words) as a system notification: one shape for
// the page (from the event stream) and the service worker (from Web
// Push), so both show the same.
export function notificationOptions(p) {
  return {
    body: p.body,
    tag: p.tag,
    renotify: true,
    icon: '/console/icon-192.png',
    badge: '/console/icon-192.png',
    // An offer waits for the supervisor; the rest may go by themselves.
    requireInteraction: p.type === 'listen_offer',
    actions: (p.actions || []).map((a) => ({ action: a.action, title: a.title })),
    data: p,
  };
}

// offerOf turns a listen offer's data into the offer the console shows.
export function offerOf(data) {
  return {
    id: data.offer_id, agent: data.agent_id, agent_name: data.agent_name,
    supervising_number: data.supervising_number, dial_uri: data.dial_uri, expires_at: data.expires_at,
  };
}
