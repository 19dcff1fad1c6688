// Package ariapp is Earshot's Asterisk ARI (Stasis) application: it
// follows service calls, answers calls to the supervising number and runs
// one goroutine per supervising session. It alone talks to Asterisk.
//
// One session, once it has left listen (docs/design.md §2.5):
//
//	customer phone ──► pool dialplan ═══ bridge (Dial/Queue) ═══ agent leg ──► agent phone
//	                   (__EARSHOT_POOL=sales)    ▲                 │ e.g. PJSIP/1001-0000002a
//	                     feed: whisper=out on the │                 │ snoop: spy=both, whisper=out
//	                     agent leg's bridge peer  │                 ▼
//	                   <app>.<s>.bargebridgeN ═══ tap: spy=out on the snoop
//	                                                               ║
//	supervisor phone ──► Stasis(earshot,supervise) ═══ mixing bridge ═══ <app>.<session>.snoop1
//	                     (absorbs the supervisor's DTMF)  <app>.<session>.bridge
//
// Modes are mutes: listen mutes the snoop's whisper (towards the agent),
// whisper opens it, barge also opens the feed (towards the customer). The
// supervisor's bridge never changes. The tap, the feed and their bridge —
// the barge path — exist only in whisper and barge (built right after a
// switch to whisper, or at a switch to barge from listen), so a session
// that listens has none of them. The
// agent's join tone is a short-lived snoop (spy=none, whisper=out)
// playing sound:beep.
//
// Events: one websocket with subscribeAll, filtered to the event types
// Earshot acts on, feeds a pump (Stream) that never blocks: the Tracker updates its view of service calls, and events about a
// session's channels go to that session's unbounded mailbox. Sessions make
// ARI requests; the pump makes none. Because events can be lost (a
// reconnect, a slow reader elsewhere), Reconcile compares everything with
// GET /channels and /bridges after every reconnect and periodically, and
// removes what no session owns: every id Earshot creates starts with
// "<app>.".
package ariapp
