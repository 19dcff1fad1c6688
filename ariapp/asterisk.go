package ariapp

import (
	"context"
	"time"

	"github.com/CyCoreSystems/ari/v6"
)

// asterisk is everything a session and reconciliation ask of Asterisk.
// *Client implements it over ARI; the session state machine's unit tests
// use a hand-written fake that records the calls and feeds events back.
type asterisk interface {
	Answer(ctx context.Context, channelID string) error
	Hangup(ctx context.Context, channelID string) error
	Snoop(ctx context.Context, channelID, snoopID, spy, whisper, app, appArgs string) error
	Mute(ctx context.Context, channelID, direction string) error
	Unmute(ctx context.Context, channelID, direction string) error
	Play(ctx context.Context, channelID, playbackID string, media ...string) error
	StopPlayback(ctx context.Context, playbackID string) error
	Variable(ctx context.Context, channelID, name string) (string, error)

	CreateBridge(ctx context.Context, bridgeID, name string) error
	AddChannels(ctx context.Context, bridgeID string, channelIDs ...string) error
	AddAbsorbingDTMF(ctx context.Context, bridgeID, channelID string) error
	DeleteBridge(ctx context.Context, bridgeID string) error

	Channels(ctx context.Context) ([]ari.ChannelData, error)
	Bridges(ctx context.Context) ([]ari.BridgeData, error)
	Clock(ctx context.Context) (time.Time, error)
}

var _ asterisk = (*Client)(nil)
