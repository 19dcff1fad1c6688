package directory

import (
	"strings"
)

// EndpointOfChannel returns the endpoint a channel belongs to by stripping
// the unique suffix Asterisk gives every channel: "PJSIP/1001-0000002a" →
// "PJSIP/1001", "Local/alice@phones-00000004;1" → "Local/alice@phones",
// "SIP/foo-bar-0000000a" → "SIP/foo-bar". It returns "" for a name without
// such a suffix. The suffix is the last "-" followed by hex digits, and for
// Local channels ";1" or ";2" naming the half; cutting at the last "-"
// keeps endpoints whose own names contain dashes intact.
func EndpointOfChannel(name string) string {
	rest := name
	if strings.HasSuffix(rest, ";1") || strings.HasSuffix(rest, ";2") {
		rest = rest[:len(rest)-2]
	}
	dash := strings.LastIndexByte(rest, '-')
	if dash <= 0 || dash == len(rest)-1 {
		return ""
	}
	for _, c := range rest[dash+1:] {
		if !isHex(c) {
			return ""
		}
	}
	endpoint := rest[:dash]
	if slash := strings.IndexByte(endpoint, '/'); slash <= 0 || slash == len(endpoint)-1 {
		return ""
	}
	return endpoint
}

func isHex(c rune) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// EndpointKey is the form endpoints are indexed and compared in. Asterisk
// matches technology names case-insensitively in dial strings ("pjsip/1001"
// dials), but channel names carry the canonical case ("PJSIP/1001-…"), so
// the technology is folded; the resource stays case-sensitive, as endpoint
// names are.
func EndpointKey(endpoint string) string {
	tech, resource, ok := strings.Cut(endpoint, "/")
	if !ok {
		return endpoint
	}
	return strings.ToLower(tech) + "/" + resource
}

// MaxEndpoints bounds the endpoints one agent is bound to: a desk phone,
// softphones, headset apps. Every one is an index entry and a lookup key
// on the call path.
const MaxEndpoints = 32

// CheckEndpoint returns why endpoint is not of the form TECH/resource, or
// "" (the message follows the endpoint: "PJSIP 1001" + " is not ...").
func CheckEndpoint(endpoint string) string {
	tech, resource, ok := strings.Cut(endpoint, "/")
	if !ok || tech == "" || resource == "" {
		return "is not of the form TECH/resource (e.g. PJSIP/1001)"
	}
	for i, c := range tech {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && ('0' <= c && c <= '9' || c == '_')) {
			return "has a technology that is not a name (e.g. PJSIP, SIP, IAX2, Local)"
		}
	}
	// A channel name is the endpoint plus "-<hex>" and maybe ";1"; these
	// characters would make matching ambiguous or impossible.
	if strings.ContainsAny(resource, " \t\r\n;,|&") {
		return "has spaces or one of ; , | & in its resource"
	}
	if strings.EqualFold(tech, "Local") && !strings.Contains(resource, "@") {
		return "is a Local channel without a context (write Local/exten@context)"
	}
	return ""
}
