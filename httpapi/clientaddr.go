package httpapi

import (
	"net"

	"github.com/labstack/echo/v4"
)

// clientAddress says how the server learns a request's client address,
// which sign-in limits count attempts by.
//
// Without trusted proxies the TCP peer is the client and X-Forwarded-For
// is ignored: anyone can write that header, and a forged one must not
// reset a limit. Behind a reverse proxy every peer is the proxy, so its
// clients would share one limit — one attacker's wrong passwords would
// lock everyone out. With the proxies named, a request from one of them
// counts against the right-most address in X-Forwarded-For that is not a
// trusted proxy itself: the one the outermost proxy saw, whatever a
// client wrote further left. Only the named ranges are trusted; echo's
// default of trusting every loopback and private address would let any
// host on the LAN pick its own address.
func clientAddress(proxies []*net.IPNet) echo.IPExtractor {
	if len(proxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range proxies {
		opts = append(opts, echo.TrustIPRange(p))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
