// Package tlsfile serves a TLS certificate and key from files and picks
// up renewed files without a restart: a certificate renewed by certbot or
// a cron job takes effect at the next handshake after the files change.
package tlsfile

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// checkEvery bounds how often the files are looked at: at most once a
// second, not on every handshake.
const checkEvery = time.Second

// Reloader holds the certificate of a pair of files.
type Reloader struct {
	cert, key string
	log       *slog.Logger
	now       func() time.Time

	mu      sync.Mutex
	current *tls.Certificate
	stamp   string    // the files' sizes and modification times when loaded
	checked time.Time // when the files were last looked at
}

// New loads the pair once; an unreadable or mismatched pair is an error.
func New(certFile, keyFile string, log *slog.Logger) (*Reloader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{cert: certFile, key: keyFile, log: log, now: time.Now}
	stamp, err := r.stampNow()
	if err != nil {
		return nil, err
	}
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate %s and key %s: %w", certFile, keyFile, err)
	}
	r.current, r.stamp, r.checked = &c, stamp, r.now()
	return r, nil
}

func (r *Reloader) stampNow() (string, error) {
	var s string
	for _, f := range []string{r.cert, r.key} {
		fi, err := os.Stat(f)
		if err != nil {
			return "", fmt.Errorf("tls: %w", err)
		}
		s += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return s, nil
}

// GetCertificate implements tls.Config.GetCertificate: the current pair,
// reloaded first when the files changed. A changed pair that does not
// load (written half-way, key and certificate mismatched) leaves the old
// one in use and is tried again later.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.checked) >= checkEvery {
		r.checked = now
		if stamp, err := r.stampNow(); err == nil && stamp != r.stamp {
			c, err := tls.LoadX509KeyPair(r.cert, r.key)
			if err != nil {
				r.log.Warn("tls: changed certificate does not load; keeping the old one", "cert", r.cert, "error", err)
			} else {
				r.current, r.stamp = &c, stamp
				r.log.Info("tls: certificate reloaded", "cert", r.cert)
			}
		}
	}
	return r.current, nil
}

// Config is a server TLS configuration serving the reloaded pair.
func (r *Reloader) Config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}
