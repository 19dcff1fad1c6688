// Command earshot-sim places simulated calls in the sandbox Asterisk, so
// a newcomer can watch a whole supervision without phones:
//
//	earshot-sim call [-pool sales] [-agent alice] [-via dial|queue|lqueue|direct]
//	earshot-sim supervise [-phone sara] [-from +358401234567] [-code 1234]
//	earshot-sim list
//	earshot-sim hangup [CHANNEL...]     (no channel: every simulated call)
//
// Each simulated phone plays a tone (customer 400 Hz, agent 1000 Hz,
// supervisor 2500 Hz) and records what it hears in the sandbox's
// /var/spool/asterisk/earshot-test/. ARI is found through EARSHOT_ARI_URL,
// EARSHOT_ARI_USER and EARSHOT_ARI_PASSWORD (the sandbox's by default).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/CyCoreSystems/ari/v6"

	"github.com/earshot/earshot/ariapp"
)

// demoSupervisingNumber is the supervising number of asterisk-conf's
// example dialplan (and of the demo).
const demoSupervisingNumber = "+35891234599"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "earshot-sim:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  earshot-sim call [-pool sales] [-agent alice] [-via dial|queue|lqueue|direct] [-from NUMBER]
  earshot-sim supervise [-phone sara] [-from +358401234567] [-code DIGITS] [-number SUPERVISING_NUMBER]
  earshot-sim list
  earshot-sim hangup [CHANNEL...]`

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	c := ariapp.NewClient(ariapp.Options{
		URL:      env("EARSHOT_ARI_URL", "http://127.0.0.1:8088"),
		User:     env("EARSHOT_ARI_USER", "earshot"),
		Password: env("EARSHOT_ARI_PASSWORD", "earshot-sandbox"),
	})
	defer c.Close()
	sim := &sim{c: c, out: out}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "call":
		fs := flag.NewFlagSet("call", flag.ContinueOnError)
		pool := fs.String("pool", "sales", "service pool (EARSHOT_POOL)")
		agent := fs.String("agent", "alice", "the agent whose phone answers")
		via := fs.String("via", "dial", "how the pool reaches the agent: dial, queue, lqueue or direct")
		from := fs.String("from", "+358501111111", "the customer's number")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return sim.call(ctx, *pool, *agent, *via, *from)
	case "supervise":
		fs := flag.NewFlagSet("supervise", flag.ContinueOnError)
		phone := fs.String("phone", "sara", "the supervisor's simulated phone")
		from := fs.String("from", "+358401234567", "the number it calls from (the supervisor's registered number)")
		code := fs.String("code", "", "one-time code to send after answering (offer-codes)")
		number := fs.String("number", demoSupervisingNumber, "the supervising number")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return sim.supervise(ctx, *phone, *from, *code, *number)
	case "list":
		return sim.list(ctx)
	case "hangup":
		return sim.hangup(ctx, rest)
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

type sim struct {
	c   *ariapp.Client
	out io.Writer
}

// call places a customer's call into a pool and waits until the agent's
// phone is bridged with the customer.
func (s *sim) call(ctx context.Context, pool, agent, via, from string) error {
	if !slices.Contains([]string{"dial", "queue", "lqueue", "direct"}, via) {
		return fmt.Errorf("-via %q: want dial, queue, lqueue or direct", via)
	}
	ext := via + "-" + pool
	if via == "direct" {
		ext = "direct"
	}
	id := fmt.Sprintf("sim-%d", time.Now().UnixMilli())
	ch, err := s.c.Originate(ctx, ariapp.OriginateRequest{
		Endpoint: "Local/customer@earshot-test-phones/n", Context: "earshot-test-pools", Extension: ext,
		CallerID: from, Formats: "slin",
		Variables: map[string]string{
			"__CALL_ID": id, "__TONE_customer": "400", "__TONE_" + agent: "1000", "AGENT": agent,
		},
	})
	if err != nil {
		return fmt.Errorf("originate: %w", err)
	}
	agentPrefix := "Local/" + agent + "@earshot-test-phones-"
	if err := s.waitBridged(ctx, func(chs []ari.ChannelData) bool {
		return anyName(chs, func(n string) bool { return strings.HasPrefix(n, agentPrefix) })
	}); err != nil {
		return fmt.Errorf("%s did not answer: %w", agent, err)
	}
	fmt.Fprintf(s.out, "service call %s: customer %s → pool %s (%s) → agent %s, connected; recordings %s-*.wav\n",
		ch.ID, from, pool, via, agent, id)
	return nil
}

// supervise calls the supervising number from a supervisor's phone and
// waits until Earshot has connected it (or hung it up: a reject).
func (s *sim) supervise(ctx context.Context, phone, from, code, number string) error {
	id := fmt.Sprintf("sim-%d", time.Now().UnixMilli())
	vars := map[string]string{"__CALL_ID": id, "__TONE_" + phone: "2500"}
	if code != "" {
		vars["__DIGITS_"+phone] = code + "#"
	}
	ch, err := s.c.Originate(ctx, ariapp.OriginateRequest{
		Endpoint: "Local/" + phone + "@earshot-test-phones/n", Context: "earshot-supervise", Extension: number,
		CallerID: from, Formats: "slin", Variables: vars,
	})
	if err != nil {
		return fmt.Errorf("originate: %w", err)
	}
	err = s.waitBridged(ctx, func(chs []ari.ChannelData) bool {
		return anyName(chs, func(n string) bool { return strings.HasPrefix(n, "Snoop/") })
	})
	if err != nil {
		return fmt.Errorf("supervising call %s from %s was not connected (no live offer? see earshot's log): %w", ch.ID, from, err)
	}
	fmt.Fprintf(s.out, "supervising call %s: %s's phone (%s) → %s, connected in listen mode\n", ch.ID, phone, from, number)
	return nil
}

// waitBridged polls until some bridge holds channels for which ok holds.
func (s *sim) waitBridged(ctx context.Context, ok func([]ari.ChannelData) bool) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		chs, err := s.c.Channels(ctx)
		if err != nil {
			return err
		}
		byID := map[string]ari.ChannelData{}
		for _, ch := range chs {
			byID[ch.ID] = ch
		}
		bridges, err := s.c.Bridges(ctx)
		if err != nil {
			return err
		}
		for _, b := range bridges {
			var members []ari.ChannelData
			for _, id := range b.ChannelIDs {
				members = append(members, byID[id])
			}
			if len(members) >= 2 && ok(members) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func anyName(chs []ari.ChannelData, f func(string) bool) bool {
	return slices.ContainsFunc(chs, func(ch ari.ChannelData) bool { return f(ch.Name) })
}

// simulated reports whether a channel is one of the simulated phones'.
func simulated(ch ari.ChannelData) bool {
	return strings.HasPrefix(ch.Name, "Local/") && strings.Contains(ch.Name, "@earshot-test-")
}

func (s *sim) list(ctx context.Context) error {
	chs, err := s.c.Channels(ctx)
	if err != nil {
		return err
	}
	n := 0
	for _, ch := range chs {
		if simulated(ch) {
			fmt.Fprintf(s.out, "%-24s %-50s %s\n", ch.ID, ch.Name, ch.State)
			n++
		}
	}
	if n == 0 {
		fmt.Fprintln(s.out, "no simulated calls")
	}
	return nil
}

func (s *sim) hangup(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		chs, err := s.c.Channels(ctx)
		if err != nil {
			return err
		}
		for _, ch := range chs {
			if simulated(ch) && strings.HasSuffix(ch.Name, ";1") {
				ids = append(ids, ch.ID)
			}
		}
	}
	for _, id := range ids {
		if err := s.c.Hangup(ctx, id); err != nil {
			return fmt.Errorf("hang up %s: %w", id, err)
		}
	}
	fmt.Fprintf(s.out, "hung up %d calls\n", len(ids))
	return nil
}
