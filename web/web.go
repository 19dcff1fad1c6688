// Package web holds the supervisor's web console: static files served by
// earshot itself under / and /console/ (see httpapi). They use only the
// public API.
package web

import "embed"

// FS is the console: index.html, app.js, style.css and qrcode.mjs (vendored).
//
//go:embed index.html app.js style.css qrcode.mjs
var FS embed.FS
