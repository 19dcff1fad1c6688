// Package metrics exposes Earshot to Prometheus (prometheus/client_golang).
//
// Values are read from the parts' own counters when Prometheus scrapes,
// so no part imports Prometheus or keeps a second copy of its state; only
// API latency is observed as it happens.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/ariapp"
	"github.com/earshot/earshot/offers"
	"github.com/earshot/earshot/push"
)

// Sources are the parts' read-outs; Push is nil with push off.
type Sources struct {
	Calls    func() int
	Sessions func() []earshot.Session
	Offers   func() offers.Stats
	ARI      func() ariapp.Stats
	ARIUp    func() bool
	Push     func() push.Stats
	// Nodes, when set, reads each Asterisk node (several under one
	// Earshot): the earshot_node_* metrics, labelled by node. The
	// metrics above stay Earshot-wide (earshot_ari_up is 1 while every
	// node is connected).
	Nodes func() []Node
}

// Node is one Asterisk node's read-out.
type Node struct {
	ID       string
	Up       bool // its event stream is connected
	Calls    int  // service calls live on it
	Sessions int  // sessions live on it
	ARI      ariapp.Stats
}

// Metrics is one registry with Earshot's metrics and the Go runtime's.
type Metrics struct {
	reg *prometheus.Registry
	api *prometheus.HistogramVec
}

// New registers the metrics read from src.
func New(src Sources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		api: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "earshot_api_request_duration_seconds",
			Help:    "HTTP API latency by method, route and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method", "route", "code"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.api,
		&collector{src: src},
	)
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveAPI records one API request; route is the pattern
// ("/api/v1/users/:user"), so ids do not explode the label set.
func (m *Metrics) ObserveAPI(method, route string, status int, d time.Duration) {
	m.api.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}

var (
	descCalls        = desc("earshot_service_calls", "Service calls live now.")
	descSessions     = desc("earshot_sessions", "Supervising sessions live now, by mode.", "mode")
	descStarted      = desc("earshot_sessions_started_total", "Supervising sessions connected.")
	descOffersLive   = desc("earshot_offers_live", "Listen offers valid now.")
	descOffers       = desc("earshot_offers_total", "Listen offers made, by source (ad_hoc, supervised).", "source")
	descWithdrawn    = desc("earshot_offers_withdrawn_total", "Listen offers withdrawn because the call ended first.")
	descRejects      = desc("earshot_rejects_total", "Supervising calls rejected, by reason.", "reason")
	descARIUp        = desc("earshot_ari_up", "1 while the ARI event stream is connected.")
	descConnects     = desc("earshot_ari_connects_total", "ARI event stream connections; each one after the first is a reconnect.")
	descEvents       = desc("earshot_ari_events_total", "ARI events received.")
	descBadEvents    = desc("earshot_ari_events_undecodable_total", "ARI events that could not be decoded.")
	descReconciled   = desc("earshot_reconciled_total", "Corrections made by reconciliation: events missed or dropped.")
	descSweeps       = desc("earshot_reconcile_sweeps_total", "Reconciliation sweeps run (every 15 s and after each connect).")
	descPush         = desc("earshot_push_notifications_total", "Push notifications by outcome (queued, sent, failed, dropped).", "outcome")
	descNodeUp       = desc("earshot_node_ari_up", "1 while the node's ARI event stream is connected.", "node")
	descNodeCalls    = desc("earshot_node_service_calls", "Service calls live now on the node.", "node")
	descNodeSessions = desc("earshot_node_sessions", "Supervising sessions live now on the node.", "node")
	descNodeConnects = desc("earshot_node_ari_connects_total", "The node's ARI event stream connections; each one after the first is a reconnect.", "node")
	descNodeStarted  = desc("earshot_node_sessions_started_total", "Supervising sessions connected on the node.", "node")
	descPushRetries  = desc("earshot_push_retries_total", "Push delivery attempts after the first.")
	descPushRemoved  = desc("earshot_push_tokens_removed_total", "Push tokens deleted because the push service rejected them.")
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// collector reads every value from Sources at scrape time.
type collector struct{ src Sources }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descCalls, descSessions, descStarted, descOffersLive, descOffers, descWithdrawn, descRejects,
		descNodeUp, descNodeCalls, descNodeSessions, descNodeConnects, descNodeStarted,
		descARIUp, descConnects, descEvents, descBadEvents, descReconciled, descSweeps,
		descPush, descPushRetries, descPushRemoved,
	} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(descCalls, float64(c.src.Calls()))
	byMode := map[earshot.Mode]int{}
	for _, s := range c.src.Sessions() {
		byMode[s.Mode]++
	}
	for _, m := range earshot.Modes {
		gauge(descSessions, float64(byMode[m]), string(m))
	}
	o := c.src.Offers()
	gauge(descOffersLive, float64(o.Live))
	for _, source := range []string{earshot.OfferAdHoc, earshot.OfferSupervised} {
		counter(descOffers, o.Made[source], source)
	}
	counter(descWithdrawn, o.Withdrawn)
	a := c.src.ARI()
	counter(descStarted, a.Sessions)
	for _, reason := range earshot.RejectReasons {
		counter(descRejects, a.Rejects[reason], reason)
	}
	up := 0.0
	if c.src.ARIUp() {
		up = 1
	}
	gauge(descARIUp, up)
	counter(descConnects, a.Connects)
	counter(descEvents, a.Events)
	counter(descBadEvents, a.BadEvents)
	counter(descReconciled, a.Reconciled)
	counter(descSweeps, a.Sweeps)
	if c.src.Nodes != nil {
		for _, n := range c.src.Nodes() {
			up := 0.0
			if n.Up {
				up = 1
			}
			gauge(descNodeUp, up, n.ID)
			gauge(descNodeCalls, float64(n.Calls), n.ID)
			gauge(descNodeSessions, float64(n.Sessions), n.ID)
			counter(descNodeConnects, n.ARI.Connects, n.ID)
			counter(descNodeStarted, n.ARI.Sessions, n.ID)
		}
	}
	if c.src.Push != nil {
		p := c.src.Push()
		counter(descPush, p.Queued, "queued")
		counter(descPush, p.Sent, "sent")
		counter(descPush, p.Failed, "failed")
		counter(descPush, p.Dropped, "dropped")
		counter(descPushRetries, p.Retries)
		counter(descPushRemoved, p.Removed)
	}
}
