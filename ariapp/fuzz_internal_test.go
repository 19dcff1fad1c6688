package ariapp

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v6"

	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/internal/memdir"
	"github.com/earshot/earshot/offers"
	"github.com/earshot/earshot/phone"
)

// FuzzHandle feeds ARI event JSON — well-formed, malformed, for unknown
// channels, in any order — to the event pump: it must not panic, and
// every session it starts must end (here ARI is unreachable, so each
// fails fast) once the application stops.
func FuzzHandle(f *testing.F) {
	for _, seed := range []string{
		`{"type":"StasisStart","application":"earshot","args":["supervise"],"channel":{"id":"1.1","name":"PJSIP/sup-1","caller":{"number":"+358401234567"},"dialplan":{"app_name":"Stasis","app_data":"earshot,supervise"}}}`,
		`{"type":"StasisStart","application":"earshot","args":["snoop","abc"],"channel":{"id":"earshot.abc.snoop1"}}`,
		`{"type":"StasisEnd","application":"earshot","channel":{"id":"1.1"}}`,
		`{"type":"ChannelDestroyed","application":"earshot","channel":{"id":"1.2","name":"Local/alice@earshot-test-phones-00000001;1"}}`,
		`{"type":"Dial","application":"earshot","dialstatus":"ANSWER","peer":{"id":"1.3","name":"Local/alice@earshot-test-phones-00000001;1","channelvars":{"EARSHOT_POOL":"sales"}}}`,
		`{"type":"ChannelEnteredBridge","application":"earshot","bridge":{"id":"b1","channels":["1.3","1.4"]},"channel":{"id":"1.3","name":"Local/alice@earshot-test-phones-00000001;1","channelvars":{"EARSHOT_POOL":"sales"}}}`,
		`{"type":"PlaybackFinished","application":"earshot","playback":{"id":"earshot.abc.pb1","target_uri":"channel:earshot.abc.beep2"}}`,
		`{"type":"ChannelDtmfReceived","application":"earshot","digit":"5","channel":{"id":"1.1"}}`,
		`{"type":"StasisStart","args":[],"channel":{}}`, `{"type":"Dial"}`, `{"type":1}`, `{}`, `[`, ``,
	} {
		f.Add([]byte(seed))
	}
	dir, err := directory.Load("../testdata/directory/load.yaml", "FI")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := memdir.New(dir)
		log := slog.New(slog.DiscardHandler)
		tracker := NewTracker(mem, "earshot", log)
		a, err := New(Config{
			URL: "http://127.0.0.1:1", User: "u", Password: "p", App: "earshot",
			Directory: mem, Tracker: tracker, Offers: offers.New(offers.Config{Directory: mem, Calls: tracker}),
			DefaultRegion: "FI", Normalize: phone.Normalize, Log: log,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		a.runCtx = ctx
		// Several events per input, one per line, so orders are fuzzed too.
		for _, line := range bytes.Split(data, []byte("\n")) {
			e, err := ari.DecodeEvent(line)
			if err != nil {
				continue
			}
			a.handle(e)
		}
		cancel()
		done := make(chan struct{})
		go func() { a.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("sessions still running 20 s after stop; input %q", data)
		}
	})
}
