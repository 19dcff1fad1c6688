// Package ariapp is Earshot's Asterisk ARI (Stasis) application: it
// follows service calls, answers calls to the supervising number and runs
// one goroutine per supervising session. It alone talks to Asterisk.
//
// One session, in listen mode:
//
//	customer phone ──► pool dialplan ═══ bridge (Dial/Queue) ═══ agent leg ──► agent phone
//	                   (__EARSHOT_POOL=sales)                     │ e.g. PJSIP/1001-0000002a
//	                                                              │ snoop: spy=both, whisper=out (muted)|out|both
//	                                                              ▼
//	supervisor phone ──► Stasis(earshot,supervise) ═══ mixing bridge ═══ <app>.<session>.snoopN
//	                     (absorbs the supervisor's DTMF)  <app>.<session>.bridge
//
// The snoop's whisper is the mode: out but muted (listen), out (whisper:
// into the audio sent to the agent), both (barge). Listen ↔ whisper is a
// mute or unmute of the snoop, the bridge untouched. To or from barge a
// switch creates a new snoop, waits for its StasisStart, hangs up the old
// one and adds the new one, so the bridge never holds two snoops. The
// agent's join tone is a second, short-lived snoop (spy=none, whisper=out)
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
