package ariapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/CyCoreSystems/ari/v6"
)

// Client is a small ARI REST client. It uses the ari package's data types
// but its own requests, because the native client of the pinned ari module
// takes no context and sets no timeout: a hung Asterisk would hang every
// session goroutine with it.
type Client struct {
	base     string // ".../ari", no trailing slash
	user     string
	password string
	http     *http.Client
}

// Options configure a Client.
type Options struct {
	// URL is Asterisk's HTTP base (http://127.0.0.1:8088); "/ari" is
	// appended unless present.
	URL      string
	User     string
	Password string
	// Timeout bounds each request; default 5 s.
	Timeout time.Duration
}

// NewClient returns a client; it does not contact Asterisk.
func NewClient(o Options) *Client {
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	return &Client{
		base:     BaseURL(o.URL),
		user:     o.User,
		password: o.Password,
		http: &http.Client{
			Timeout: o.Timeout,
			Transport: &http.Transport{
				MaxIdleConnsPerHost: 8,
				IdleConnTimeout:     90 * time.Second,
			},
		},
	}
}

// Close releases idle connections: each one holds a session (and a
// thread) in Asterisk's HTTP server until it times out.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// BaseURL returns Asterisk's ARI base URL (ending in "/ari") for an HTTP
// base URL that may or may not already end in "/ari".
func BaseURL(raw string) string {
	u := strings.TrimRight(raw, "/")
	if !strings.HasSuffix(u, "/ari") {
		u += "/ari"
	}
	return u
}

// APIError is a non-2xx answer from ARI.
type APIError struct {
	Method, Path string
	Status       int
	Message      string
}

// Error implements error.
func (e *APIError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("ari %s %s: %d %s", e.Method, e.Path, e.Status, e.Message)
	}
	return fmt.Sprintf("ari %s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
}

// IsNotFound reports whether err is ARI's 404: the channel, bridge or
// playback is already gone, which on hang-up and delete paths means done.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsUnauthorized reports whether ARI rejected the credentials.
func IsUnauthorized(err error) bool { return statusOf(err) == http.StatusUnauthorized }

// IsUnanswered reports whether a request's outcome is unknown: Asterisk
// did not answer in time, the connection failed, or it answered 5xx. The
// request may still have been carried out, or be carried out later (an
// overloaded Asterisk works through requests whose client gave up).
func IsUnanswered(err error) bool {
	if statusOf(err) >= 500 {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}

func statusOf(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, out any) error {
	return c.doJSON(ctx, method, path, q, nil, out)
}

// doJSON sends one request (with a JSON body when in is not nil) and
// decodes the answer into out.
func (c *Client) doJSON(ctx context.Context, method, path string, q url.Values, in, out any) error {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var reqBody io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("ari %s %s: encode: %w", method, path, err)
		}
		reqBody = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, reqBody)
	if err != nil {
		return fmt.Errorf("ari %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(c.user, c.password)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("ari %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("ari %s %s: read body: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var m struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &m) // the message is a courtesy; the status is the error
		return &APIError{Method: method, Path: path, Status: resp.StatusCode, Message: m.Message}
	}
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("ari %s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

// Info returns Asterisk's system information; it is the connectivity and
// credentials probe.
func (c *Client) Info(ctx context.Context) (ari.AsteriskInfo, error) {
	var info ari.AsteriskInfo
	err := c.do(ctx, http.MethodGet, "/asterisk/info", nil, &info)
	return info, err
}

// Clock returns Asterisk's current time (GET /asterisk/ping), to compare
// channel creation times, which are on Asterisk's clock, with ours.
func (c *Client) Clock(ctx context.Context) (time.Time, error) {
	var pong struct {
		Timestamp string `json:"timestamp"`
	}
	if err := c.do(ctx, http.MethodGet, "/asterisk/ping", nil, &pong); err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse("2006-01-02T15:04:05.000-0700", pong.Timestamp)
	if err != nil {
		return time.Time{}, fmt.Errorf("asterisk ping timestamp %q: %w", pong.Timestamp, err)
	}
	return t, nil
}

// Channels lists every channel in Asterisk.
func (c *Client) Channels(ctx context.Context) ([]ari.ChannelData, error) {
	var out []ari.ChannelData
	err := c.do(ctx, http.MethodGet, "/channels", nil, &out)
	return out, err
}

// Bridges lists every bridge in Asterisk.
func (c *Client) Bridges(ctx context.Context) ([]ari.BridgeData, error) {
	var out []ari.BridgeData
	err := c.do(ctx, http.MethodGet, "/bridges", nil, &out)
	return out, err
}

// Snoop creates a snoop channel with a chosen id on channelID and places it
// in app with appArgs. spy and whisper are "none", "in", "out" or "both".
func (c *Client) Snoop(ctx context.Context, channelID, snoopID, spy, whisper, app, appArgs string) error {
	q := url.Values{"snoopId": {snoopID}, "spy": {spy}, "whisper": {whisper}, "app": {app}, "appArgs": {appArgs}}
	return c.do(ctx, http.MethodPost, "/channels/"+url.PathEscape(channelID)+"/snoop", q, nil)
}

// Hangup hangs a channel up; a channel already gone counts as done.
func (c *Client) Hangup(ctx context.Context, channelID string) error {
	err := c.do(ctx, http.MethodDelete, "/channels/"+url.PathEscape(channelID), url.Values{"reason": {"normal"}}, nil)
	if IsNotFound(err) {
		return nil
	}
	return err
}

// Answer answers a channel in Stasis.
func (c *Client) Answer(ctx context.Context, channelID string) error {
	return c.do(ctx, http.MethodPost, "/channels/"+url.PathEscape(channelID)+"/answer", nil, nil)
}

// Play starts media (e.g. "sound:beep") on a channel with a chosen
// playback id; several media play one after another. (ARI splits a media
// value at commas, so a tone list must be given as separate media.)
func (c *Client) Play(ctx context.Context, channelID, playbackID string, media ...string) error {
	q := url.Values{"media": media, "playbackId": {playbackID}}
	return c.do(ctx, http.MethodPost, "/channels/"+url.PathEscape(channelID)+"/play", q, nil)
}

// CreateBridge creates a mixing bridge with a chosen id.
func (c *Client) CreateBridge(ctx context.Context, bridgeID, name string) error {
	q := url.Values{"type": {"mixing"}, "name": {name}}
	return c.do(ctx, http.MethodPost, "/bridges/"+url.PathEscape(bridgeID), q, nil)
}

// AddChannels puts channels into a bridge.
func (c *Client) AddChannels(ctx context.Context, bridgeID string, channelIDs ...string) error {
	q := url.Values{"channel": {strings.Join(channelIDs, ",")}}
	return c.do(ctx, http.MethodPost, "/bridges/"+url.PathEscape(bridgeID)+"/addChannel", q, nil)
}

// AddAbsorbingDTMF puts one channel into a bridge with its DTMF absorbed:
// Asterisk still reports the digits (ChannelDtmfReceived) but they go no
// further into the bridge.
func (c *Client) AddAbsorbingDTMF(ctx context.Context, bridgeID, channelID string) error {
	q := url.Values{"channel": {channelID}, "absorbDTMF": {"true"}}
	return c.do(ctx, http.MethodPost, "/bridges/"+url.PathEscape(bridgeID)+"/addChannel", q, nil)
}

// DeleteBridge deletes a bridge; a bridge already gone counts as done.
func (c *Client) DeleteBridge(ctx context.Context, bridgeID string) error {
	err := c.do(ctx, http.MethodDelete, "/bridges/"+url.PathEscape(bridgeID), nil, nil)
	if IsNotFound(err) {
		return nil
	}
	return err
}

// OriginateRequest is a call Asterisk places: Endpoint is dialled and, once
// answered, continues in Context/Extension (priority 1).
type OriginateRequest struct {
	Endpoint, Context, Extension, CallerID string
	// Formats pins the codecs of a Local channel (e.g. "slin"): without
	// it Local channels negotiate 192 kHz signed linear, ~8× the CPU.
	Formats   string
	Variables map[string]string
}

// Originate places a call (used by the demo CLI and the test harness).
func (c *Client) Originate(ctx context.Context, r OriginateRequest) (ari.ChannelData, error) {
	q := url.Values{"endpoint": {r.Endpoint}, "context": {r.Context}, "extension": {r.Extension}, "priority": {"1"}}
	if r.CallerID != "" {
		q.Set("callerId", r.CallerID)
	}
	if r.Formats != "" {
		q.Set("formats", r.Formats)
	}
	var ch ari.ChannelData
	body := map[string]any{"variables": r.Variables}
	err := c.doJSON(ctx, http.MethodPost, "/channels", q, body, &ch)
	return ch, err
}

// SendDTMF sends digits on a channel (tests and benchmarks press keys on
// simulated phones with it).
func (c *Client) SendDTMF(ctx context.Context, channelID, digits string) error {
	return c.do(ctx, http.MethodPost, "/channels/"+url.PathEscape(channelID)+"/dtmf", url.Values{"dtmf": {digits}}, nil)
}

// StopPlayback stops a playback; one already finished counts as done.
func (c *Client) StopPlayback(ctx context.Context, playbackID string) error {
	err := c.do(ctx, http.MethodDelete, "/playbacks/"+url.PathEscape(playbackID), nil, nil)
	if IsNotFound(err) {
		return nil
	}
	return err
}

// FilterEvents lets only events of the given types reach application app
// (PUT /applications/{app}/eventFilter, Asterisk 16.3+). With
// subscribeAll, the rest (dialplan steps, variables, caller ids) would be
// most of the stream.
func (c *Client) FilterEvents(ctx context.Context, app string, types []string) error {
	type eventType struct {
		Type string `json:"type"`
	}
	var in struct {
		Allowed []eventType `json:"allowed"`
	}
	for _, t := range types {
		in.Allowed = append(in.Allowed, eventType{t})
	}
	return c.doJSON(ctx, http.MethodPut, "/applications/"+url.PathEscape(app)+"/eventFilter", nil, in, nil)
}

// EventsAllowed returns the event types application app is filtered to;
// none means every event.
func (c *Client) EventsAllowed(ctx context.Context, app string) ([]string, error) {
	var out struct {
		Allowed []struct {
			Type string `json:"type"`
		} `json:"events_allowed"`
	}
	if err := c.do(ctx, http.MethodGet, "/applications/"+url.PathEscape(app), nil, &out); err != nil {
		return nil, err
	}
	var got []string
	for _, t := range out.Allowed {
		got = append(got, t.Type)
	}
	return got, nil
}

// Mute drops the audio of a channel in Stasis in one direction: "out" is
// what Asterisk writes to the channel (for a snoop, what it whispers).
func (c *Client) Mute(ctx context.Context, channelID, direction string) error {
	return c.do(ctx, http.MethodPost, "/channels/"+url.PathEscape(channelID)+"/mute", url.Values{"direction": {direction}}, nil)
}

// Unmute lets a channel's audio in one direction through again.
func (c *Client) Unmute(ctx context.Context, channelID, direction string) error {
	return c.do(ctx, http.MethodDelete, "/channels/"+url.PathEscape(channelID)+"/mute", url.Values{"direction": {direction}}, nil)
}

// ExternalMedia creates a channel whose audio travels over a WebSocket
// that Asterisk serves at /media/<connection id> on its HTTP server
// (chan_websocket, Asterisk 22.6+), placed in application app with
// appArgs once the socket connects. It returns the connection id.
func (c *Client) ExternalMedia(ctx context.Context, channelID, app, appArgs, format string) (string, error) {
	q := url.Values{
		"channelId": {channelID}, "app": {app}, "data": {appArgs}, "format": {format},
		"transport": {"websocket"}, "encapsulation": {"none"}, "connection_type": {"server"},
	}
	var out struct {
		ChannelVars map[string]string `json:"channelvars"`
	}
	if err := c.do(ctx, http.MethodPost, "/channels/externalMedia", q, &out); err != nil {
		return "", err
	}
	id := out.ChannelVars["MEDIA_WEBSOCKET_CONNECTION_ID"]
	if id == "" {
		return "", fmt.Errorf("ari externalMedia: no MEDIA_WEBSOCKET_CONNECTION_ID in the answer (is chan_websocket loaded?)")
	}
	return id, nil
}

// MediaURL is the WebSocket URL of an external media connection id.
func (c *Client) MediaURL(connectionID string) string {
	u := strings.TrimSuffix(c.base, "/ari")
	switch {
	case strings.HasPrefix(u, "https://"):
		u = "wss://" + strings.TrimPrefix(u, "https://")
	case strings.HasPrefix(u, "http://"):
		u = "ws://" + strings.TrimPrefix(u, "http://")
	}
	return u + "/media/" + url.PathEscape(connectionID)
}

// Variable reads a channel variable or dialplan function on any
// channel, in Stasis or not.
func (c *Client) Variable(ctx context.Context, channelID, name string) (string, error) {
	var out struct {
		Value string `json:"value"`
	}
	err := c.do(ctx, http.MethodGet, "/channels/"+url.PathEscape(channelID)+"/variable", url.Values{"variable": {name}}, &out)
	return out.Value, err
}
