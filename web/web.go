// Package web holds the supervisor's web console: static files served by
// earshot itself under / and /console/ (see httpapi). They use only the
// public API.
package web

import "embed"

// FS is the console: index.html, its modules, the service worker (sw.js),
// style.css, the icons (icons.sh renders the PNGs), the web app manifest
// and qrcode.mjs (vendored).
//
//go:embed index.html *.js *.mjs style.css icon.svg icon-192.png icon-512.png manifest.webmanifest
var FS embed.FS
