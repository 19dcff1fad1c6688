// Package httpapi is Earshot's HTTP surface for the mobile app and
// operators, on Echo v4. So far it serves the health and readiness probes;
// the /api/v1 routes of DESIGN §4 build on the same server.
package httpapi
