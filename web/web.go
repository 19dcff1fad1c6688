// Package web holds the supervisor's web console: static files served by
// earshot itself under / and /console/ (see httpapi). They use only the
// public API.
package web

import "embed"

// FS is the console: index.html, its modules, style.css, the icon and
// qrcode.mjs (vendored).
//
//go:embed index.html *.js *.mjs style.css icon.svg
var FS embed.FS
