// In-page notices for the notifications the server sends (filled in by
// the notification work).
export function init() {}
export function show() {}
export function clear() {}
