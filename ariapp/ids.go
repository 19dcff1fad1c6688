package ariapp

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/CyCoreSystems/ari/v6"
)

// Ids of everything Earshot creates in Asterisk start with "<app>." and
// the session id, so a later run (or reconciliation) recognises its own
// snoops, bridges and playbacks and can clean up what no session owns.
//
//	earshot.5f3a9c0d1e.bridge        the session's mixing bridge
//	earshot.5f3a9c0d1e.snoop1        its spy snoop
//	earshot.5f3a9c0d1e.tap3          the barge path's tap (barge.go)
//	earshot.5f3a9c0d1e.feed3         the barge path's feed
//	earshot.5f3a9c0d1e.bargebridge3  the barge path's bridge
//	earshot.5f3a9c0d1e.beep2         a short-lived whisper snoop for the agent tone
//	earshot.5f3a9c0d1e.pb4           a playback (tone or notice)

func newSessionID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

func (a *App) objectID(session, kind string, n int) string {
	if n == 0 {
		return fmt.Sprintf("%s.%s.%s", a.cfg.App, session, kind)
	}
	return fmt.Sprintf("%s.%s.%s%d", a.cfg.App, session, kind, n)
}

// ownedBy reports whether an id was made by application app.
func ownedBy(app, id string) bool { return strings.HasPrefix(id, app+".") }

// isOurs reports whether an id was made by this application.
func (a *App) isOurs(id string) bool { return ownedBy(a.cfg.App, id) }

// stasisApp splits a channel's dialplan location "Stasis(app,args)" into
// the application and its arguments; app is "" outside Stasis.
func stasisApp(d *ari.DialplanCEP) (app, args string) {
	if d == nil || !strings.EqualFold(d.AppName, "Stasis") {
		return "", ""
	}
	app, args, _ = strings.Cut(d.AppData, ",")
	return strings.TrimSpace(app), strings.TrimSpace(args)
}

// sessionOf returns the session id inside one of our ids.
func (a *App) sessionOf(id string) string {
	rest, ok := strings.CutPrefix(id, a.cfg.App+".")
	if !ok {
		return ""
	}
	s, _, _ := strings.Cut(rest, ".")
	return s
}

// eventIDs returns the ids an event is about, for routing to sessions.
func eventIDs(e ari.Event) []string {
	switch e := e.(type) {
	case *ari.StasisStart:
		return []string{e.Channel.ID}
	case *ari.StasisEnd:
		return []string{e.Channel.ID}
	case *ari.ChannelDestroyed:
		return []string{e.Channel.ID}
	case *ari.ChannelDtmfReceived:
		return []string{e.Channel.ID}
	case *ari.ChannelStateChange:
		return []string{e.Channel.ID}
	case *ari.PlaybackFinished:
		return []string{e.Playback.ID}
	}
	return nil
}
