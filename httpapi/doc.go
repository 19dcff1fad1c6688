// Package httpapi is Earshot's HTTP surface on Echo v4: the health and
// readiness probes, and the mobile-app API of docs/design.md §4.4 under /api/v1.
//
// The package depends only on interfaces it declares (Store, Offers) and on
// the domain's earshot.Calls and earshot.Supervising, so its tests run on
// small hand-written fakes.
//
// Signing in (POST /api/v1/auth/login) returns an HS256 JWT that carries
// the user's roles and the organization's features as of sign-in. R1 says a
// supervisor gets a newly enabled feature only after signing in again, so
// supervising routes need the feature in the token; R1 also says disabling
// takes effect at once, so they need it on the organization now as well,
// looked up on every request (and on every event of an open stream).
//
// Every error leaves as an RFC 9457 application/problem+json document,
// Echo's own 404 and 405 and recovered panics included. Domain error codes
// map to statuses in one table (statusOf); internal errors are logged with
// the request id and answered generically. Ids of another organization,
// another supervisor's sessions and pools outside a supervisor's scope
// answer 404, so the API never reveals that they exist.
//
// The operator's routes under /api/v1/admin take the admin token (and do
// not exist without one): they switch features (R1), page the audit
// trail, manage users and pools, import the directory file (YAML, its
// problems answered as one field error each) and stream a backup of the
// database.
//
// GET /api/v1/openapi.json serves an OpenAPI 3.0.3 document (openapi.go)
// written apart from the route registrations; a test keeps the two in
// step, and every request and response of this package's tests is checked
// against the document (contract_test.go), so it is the API's contract.
package httpapi
