// Package store keeps Earshot's state in one bbolt file: the directory of
// organizations, users and service pools, the supervisors' phone numbers
// (R9) and supervised lists (R8), the push tokens of their phones, the
// listen offers still pending, and the audit trail of every supervising
// session and rejected attempt. It is the only package that imports bbolt.
//
// # Why bbolt
//
// Earshot is one process beside one Asterisk. Its data is small, read far
// more often than written, and must survive a crash: a bbolt file gives
// that with no server to run, one writer at a time, and readers that never
// wait. Every method is one transaction, run through bbolt's Update and
// View closures; a read on the call path (AgentByEndpoint, UserByPhone,
// SupervisorsOf) is a single View with an index lookup and one JSON
// decode, a few microseconds.
//
// # Layout
//
// Each kind of thing has a top-level bucket keyed by its id, with the
// value encoded as JSON, so a record gains fields without a migration and
// the file can be read with the bbolt command-line tool:
//
//	meta                schema_version → "2" (decimal)
//	orgs                org id → earshot.Organization
//	users               user id → user, password hash included
//	pools               pool id → earshot.Pool
//	offers              offer id → offer, one-time code included
//	devices             push token → Device
//	audit               8-byte big-endian sequence → earshot.AuditEntry
//	imported            kind ("org", "user", "pool"), NUL, id → the entry as the directory file last gave it
//	token_versions      user id → 8-byte big-endian sign-in token version (†)
//	revoked_tokens      user id, NUL, token id → 8-byte big-endian expiry, Unix s (†)
//	webpush_subscriptions  endpoint URL → WebPushSubscription (†; webpush.go)
//
// (†) Made on first write, like meta/token_key and meta/vapid_keys, and read as empty while
// missing: they need no migration.
//
// Indexes are buckets of their own, maintained in the same transaction as
// the records they point to:
//
//	users_by_phone      E.164 number → user id (unique)
//	agents_by_endpoint  endpoint, technology in lower case → agent id (unique)
//	supervised          supervisor id, NUL, agent id → empty
//	supervisors_of      agent id, NUL, supervisor id → empty
//	devices_by_user     user id, NUL, token → empty
//	audit_by_org        org id, NUL, 8-byte sequence → empty
//
// Pair keys join two ids with a NUL byte, which no id may hold, so all
// pairs of one id sort together and a cursor seek lists them in order:
// "whom does sara supervise" and "who supervises alice" are each one
// prefix scan. The two supervised buckets are the same relation in both
// directions, so the call path asks who to notify without a scan.
//
// Audit keys come from the bucket's NextSequence and are written
// big-endian, so byte order is the order of recording and the newest
// entries are at the end: Audit pages backwards from a cursor with
// AuditQuery.Before. The org index ends in the same 8 bytes, so one
// organization's trail pages the same way.
//
// Values handed out are decoded copies. bbolt's byte slices are valid only
// inside their transaction; nothing here keeps one past it.
//
// User, Pool and Org answer from decoded records kept in memory (cache.go),
// since the API reads them on every request. Every write empties them
// before it begins and after it commits, nothing is kept while a write is
// under way, and a read keeps what it read only if no write began
// meanwhile: a read never returns what a write that has returned changed.
//
// # The directory file and the API
//
// ImportDirectory upserts a parsed directory file (package directory) in
// one transaction. It is idempotent, reports what it created, changed and
// left as it was, and never deletes: users and pools missing from the file
// are listed, and an operator deletes them explicitly. The file wins for a
// field only when the file changed that field since the last import
// (bucket imported keeps each entry as last imported), so what was changed
// through the API — a supervisor's phone number, an organization's
// features, an operator's edit — survives a restart that imports the same
// file, and an unchanged plain-text password is never hashed anew; a user
// or pool deleted through the API stays deleted until the file changes
// its entry. The unique
// indexes are checked for the whole file at once, so two users swapping
// numbers is fine, and a conflict fails the import with nothing written.
//
// # Schema versions
//
// meta/schema_version says which layout the file has. Open runs the
// migrations from that version up to SchemaVersion in the same transaction
// that writes the new version, so a crash leaves either the old layout or
// the new one. A file from a newer Earshot is refused rather than read
// wrongly, and a bbolt file without the meta bucket but with buckets of
// its own is someone else's database and is refused too.
//
// # Durability and operations
//
// bbolt syncs the file to disk before a write transaction returns, so a
// write whose method returned nil survives the process being killed
// (SIGKILL) or the machine losing power. Record batches concurrent calls
// into one transaction and one sync (bbolt's Batch, waiting at most 1 ms
// for company), and still returns only once its entry is on disk.
//
// One process at a time may open the file: Open waits about a second for
// the lock and then says the file is in use, which usually means another
// earshot is running. Backup and BackupFile copy the database while it is
// in use, from one read transaction; the copy is a database Open accepts.
package store
