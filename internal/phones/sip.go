package phones

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// SIPPhone is a real SIP user agent: one baresip process in the sandbox
// chroot, on loopback, sending G.711 µ-law RTP with its party's tone
// (a WAV file played by aufile) and RFC 4733 DTMF, and recording what it
// receives. The harness drives it over baresip's ctrl_tcp interface.
// Phones whose channel names must be real endpoints (PJSIP/<name>-…),
// queues with PJSIP members, trunks and RFC 4733 DTMF need these; the
// Local-channel phones stay the fast path for everything else.
type SIPPhone struct {
	Name string // the account's user: the endpoint, or a trunk's caller number
	h    *Harness
	dir  string // sandbox path of the phone's config and recording
	cmd  *exec.Cmd
	ctrl net.Conn
	log  string // host path of baresip's output

	exited chan struct{}
	mu     sync.Mutex
	events []sipEvent
	notify chan struct{}
	closed time.Time // when the last call closed
}

// SIPOpts describe a SIP phone.
type SIPOpts struct {
	// User is the account's user: the PJSIP endpoint it is identified as
	// (pjsip_earshot_test.conf), or with AuthUser the caller's number a
	// trunk delivers.
	User string
	// AuthUser and AuthPassword answer Asterisk's challenge (a trunk
	// identified by its credentials).
	AuthUser, AuthPassword string
	// Register makes the phone register, so Dial() and queues reach it;
	// it answers every call at once.
	Register bool
	// Tone is the phone's voice in Hz.
	Tone float64
}

type sipEvent struct {
	Event bool   `json:"event"`
	Type  string `json:"type"`
	Param string `json:"param"`
	at    time.Time
}

// SIPAddr is where the sandbox Asterisk takes SIP: 5060, or the same
// offset from it as a second sandbox's ARI port has from 8088.
func (h *Harness) SIPAddr() string {
	if a := h.env.SIP; a != "" {
		return a
	}
	port := 8088
	if u, err := url.Parse(h.env.URL); err == nil {
		if p, err := strconv.Atoi(u.Port()); err == nil {
			port = p
		}
	}
	return "127.0.0.1:" + strconv.Itoa(port-8088+5060)
}

// SIP starts a SIP phone; Close (registered as cleanup) stops it. A
// registering phone is returned once registered.
func (h *Harness) SIP(ctx context.Context, o SIPOpts) (*SIPPhone, error) {
	if _, err := os.Stat(h.env.HostPath("/usr/bin/baresip")); err != nil {
		return nil, fmt.Errorf("no baresip in the sandbox (scripts/sandbox.sh start installs it): %w", err)
	}
	voice, err := h.voiceFile(o.Tone)
	if err != nil {
		return nil, err
	}
	var p *SIPPhone
	for attempt := 1; ; attempt++ {
		p, err = h.launch(ctx, o, voice)
		// The ports were free when picked, but another process may bind
		// one (baresip binds TCP beside UDP) before baresip does: pick again.
		if err == nil || !errors.Is(err, errPortTaken) || attempt == 5 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	go p.read()
	if o.Register {
		// Asterisk's view rather than the phone's event: the registration
		// may complete before the control connection is up.
		deadline := time.Now().Add(10 * time.Second)
		for !h.endpointOnline(ctx, "PJSIP", o.User) {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("sip phone %s never registered: %s", o.User, p.output())
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(50 * time.Millisecond): // polling Asterisk, with a deadline
			}
		}
	}
	return p, nil
}

// errPortTaken is a baresip start that failed because a port it was given
// was bound by someone else in the meantime.
var errPortTaken = errors.New("a port was taken")

// launch starts one baresip process on fresh ports and connects to its
// control interface.
func (h *Harness) launch(ctx context.Context, o SIPOpts, voice string) (*SIPPhone, error) {
	ctrlPort, err := freePort()
	if err != nil {
		return nil, err
	}
	sipPort, err := freeSIPPort()
	if err != nil {
		return nil, err
	}
	p := &SIPPhone{Name: o.User, h: h, dir: path.Join(RecDir, "sip-"+o.User+"-"+randHex(6)),
		exited: make(chan struct{}), notify: make(chan struct{})}
	host := h.env.HostPath(p.dir)
	if err := os.MkdirAll(host, 0o755); err != nil {
		return nil, fmt.Errorf("sip phone: %w", err)
	}
	config := strings.Join([]string{
		"poll_method epoll",
		"sip_listen 127.0.0.1:" + strconv.Itoa(sipPort),
		"audio_source aufile," + voice + ".wav",
		"audio_player aufile," + path.Join(p.dir, "heard.wav"),
		"ausrc_srate 8000", "auplay_srate 8000", "ausrc_channels 1", "auplay_channels 1",
		"rtp_ports 30000-39999",
		"module_path /usr/lib/baresip/modules",
		"module g711.so", "module aufile.so", "module ctrl_tcp.so",
		"module_app account.so", "module_app menu.so",
		"ctrl_tcp_listen 127.0.0.1:" + strconv.Itoa(ctrlPort),
	}, "\n") + "\n"
	params := []string{"audio_codecs=PCMU", "regint=0", "answermode=manual"}
	if o.Register {
		params = []string{"audio_codecs=PCMU", "regint=300", "answermode=auto"}
	}
	if o.AuthUser != "" {
		params = append(params, "auth_user="+o.AuthUser, "auth_pass="+o.AuthPassword)
	}
	account := "<sip:" + o.User + "@" + h.SIPAddr() + ">;" + strings.Join(params, ";") + "\n"
	for name, body := range map[string]string{"config": config, "accounts": account} {
		if err := os.WriteFile(host+"/"+name, []byte(body), 0o644); err != nil {
			return nil, fmt.Errorf("sip phone: %w", err)
		}
	}
	p.log = host + "/baresip.log"
	out, err := os.Create(p.log)
	if err != nil {
		return nil, fmt.Errorf("sip phone: %w", err)
	}
	p.cmd = exec.Command("chroot", h.env.Root, "baresip", "-f", p.dir)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start baresip: %w", err)
	}
	go func() { _ = p.cmd.Wait(); out.Close(); close(p.exited) }()
	h.tb.Cleanup(p.Close)

	deadline := time.Now().Add(10 * time.Second)
	for {
		p.ctrl, err = net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(ctrlPort))
		if err == nil {
			break
		}
		select {
		case <-p.exited:
			if strings.Contains(p.output(), "Address already in use") {
				return nil, fmt.Errorf("baresip exited: %w: %s", errPortTaken, p.output())
			}
			return nil, fmt.Errorf("baresip exited: %s", p.output())
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond): // polling for the port, with a deadline
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("baresip's control port never opened: %s", p.output())
		}
	}
	return p, nil
}

// endpointOnline asks Asterisk whether an endpoint has a registered contact.
func (h *Harness) endpointOnline(ctx context.Context, tech, resource string) bool {
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(h.env.URL, "/")+"/ari/endpoints/"+tech+"/"+url.PathEscape(resource), nil)
	if err != nil {
		return false
	}
	req.SetBasicAuth(h.env.User, h.env.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var ep struct {
		State string `json:"state"`
	}
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&ep) == nil && ep.State == "online"
}

// freePort finds a loopback TCP port nobody uses right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freeSIPPort finds a loopback port free for both UDP and TCP: baresip's
// sip_listen binds both.
func freeSIPPort() (int, error) {
	for range 20 {
		port, err := freePort()
		if err != nil {
			return 0, err
		}
		c, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
			return port, nil
		}
	}
	return 0, errors.New("no loopback port free for both UDP and TCP")
}

// read takes baresip's netstrings ("<len>:<json>,") and keeps the events.
func (p *SIPPhone) read() {
	r := bufio.NewReader(p.ctrl)
	for {
		n, err := r.ReadString(':')
		if err != nil {
			return
		}
		size, err := strconv.Atoi(n[:len(n)-1])
		if err != nil || size < 0 || size > 1<<20 {
			return
		}
		msg := make([]byte, size+1)
		if _, err := io.ReadFull(r, msg); err != nil {
			return
		}
		var ev sipEvent
		if json.Unmarshal(msg[:size], &ev) != nil || !ev.Event {
			continue
		}
		ev.at = time.Now()
		p.mu.Lock()
		p.events = append(p.events, ev)
		if ev.Type == "CALL_CLOSED" {
			p.closed = ev.at
		}
		close(p.notify)
		p.notify = make(chan struct{})
		p.mu.Unlock()
	}
}

// wait returns the first event of the type not yet waited for.
func (p *SIPPhone) wait(ctx context.Context, d time.Duration, typ string) (sipEvent, error) {
	timeout := time.After(d)
	for {
		p.mu.Lock()
		for i, ev := range p.events {
			if ev.Type == typ {
				p.events = append(p.events[:i:i], p.events[i+1:]...)
				p.mu.Unlock()
				return ev, nil
			}
		}
		ch := p.notify
		p.mu.Unlock()
		select {
		case <-ch:
		case <-p.exited:
			return sipEvent{}, fmt.Errorf("sip phone %s: baresip exited waiting for %s: %s", p.Name, typ, p.output())
		case <-ctx.Done():
			return sipEvent{}, ctx.Err()
		case <-timeout:
			return sipEvent{}, fmt.Errorf("sip phone %s: no %s within %v: %s", p.Name, typ, d, p.output())
		}
	}
}

// command sends one ctrl_tcp command.
func (p *SIPPhone) command(name, params string) error {
	b, err := json.Marshal(map[string]string{"command": name, "params": params, "token": randHex(4)})
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(p.ctrl, "%d:%s,", len(b), b); err != nil {
		return fmt.Errorf("sip phone %s: %s: %w", p.Name, name, err)
	}
	return nil
}

// Call dials an extension of the sandbox and waits until the call is
// established (answered, audio flowing).
func (p *SIPPhone) Call(ctx context.Context, exten string) error {
	if err := p.command("dial", "sip:"+exten+"@"+p.h.SIPAddr()); err != nil {
		return err
	}
	_, err := p.wait(ctx, 15*time.Second, "CALL_ESTABLISHED")
	return err
}

// WaitAnswered waits until the phone has answered a call.
func (p *SIPPhone) WaitAnswered(ctx context.Context) error {
	_, err := p.wait(ctx, 15*time.Second, "CALL_ESTABLISHED")
	return err
}

// Keys presses keys on the phone during its call: RFC 4733 events.
func (p *SIPPhone) Keys(keys string) error { return p.command("sndcode", keys) }

// Hangup ends the phone's call.
func (p *SIPPhone) Hangup() error { return p.command("hangup", "") }

// Recording waits until the phone's call has closed and reads what it
// heard, placed on the wall clock: it ends when the call closed.
func (p *SIPPhone) Recording(ctx context.Context) (*Heard, error) {
	if _, err := p.wait(ctx, 15*time.Second, "CALL_CLOSED"); err != nil {
		return nil, err
	}
	p.mu.Lock()
	end := p.closed
	p.mu.Unlock()
	return readHeard(ctx, p.h.env.HostPath(path.Join(p.dir, "heard.wav")), p.Name, end)
}

// Close stops the phone's process (the harness's own, by its pid).
func (p *SIPPhone) Close() {
	if p.ctrl != nil {
		p.ctrl.Close()
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return
	case <-time.After(2 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// output is the tail of baresip's log, for failures.
func (p *SIPPhone) output() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
