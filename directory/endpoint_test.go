package directory_test

import (
	"testing"

	"github.com/earshot/earshot/directory"
)

func TestEndpointOfChannel(t *testing.T) {
	for _, tt := range []struct {
		name, want string
	}{
		{"PJSIP/1001-0000002a", "PJSIP/1001"},
		{"PJSIP/1001-0000002A", "PJSIP/1001"},
		{"Local/alice@phones-00000004;1", "Local/alice@phones"},
		{"Local/alice@phones-00000004;2", "Local/alice@phones"},
		{"Local/alice@earshot-test-phones-0000001f;1", "Local/alice@earshot-test-phones"},
		{"SIP/foo-bar-0000000a", "SIP/foo-bar"},
		{"IAX2/trunk-1234", "IAX2/trunk"},
		{"DAHDI/1-1", "DAHDI/1"},
		// No suffix.
		{"PJSIP/1001", ""},
		{"SIP/foo-bar", ""},
		{"Local/alice@phones;1", ""},
		{"PJSIP/1001-", ""},
		{"PJSIP/1001-00x0002a", ""},
		{"PJSIP/1001-0000002a;3", ""},
		// Not a channel name.
		{"", ""},
		{"-0000002a", ""},
		{"1001-0000002a", ""},
		{"PJSIP/-0000002a", ""},
		{"/1001-0000002a", ""},
	} {
		if got := directory.EndpointOfChannel(tt.name); got != tt.want {
			t.Errorf("EndpointOfChannel(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParse_Endpoints(t *testing.T) {
	for _, tt := range []struct {
		endpoint string
		problem  string // "" when the endpoint is good
	}{
		{"PJSIP/1001", ""},
		{"SIP/foo-bar", ""},
		{"IAX2/trunk/1001", ""},
		{"Local/alice@phones", ""},
		{"local/alice@phones", ""},
		{"1001", "is not of the form TECH/resource"},
		{"PJSIP/", "is not of the form TECH/resource"},
		{"/1001", "is not of the form TECH/resource"},
		{"PJ SIP/1001", "has a technology that is not a name"},
		{"2SIP/1001", "has a technology that is not a name"},
		{"PJSIP/10 01", "has spaces or one of"},
		{"PJSIP/1001;1", "has spaces or one of"},
		{"Local/alice", "is a Local channel without a context"},
	} {
		_, err := parse("organizations: [{id: acme}]\nusers: [{id: al, org: acme, roles: [agent], endpoint: \"" + tt.endpoint + "\"}]\n")
		switch {
		case tt.problem == "" && err != nil:
			t.Errorf("endpoint %q: %v", tt.endpoint, err)
		case tt.problem != "" && (err == nil || !containsAll(err.Error(), `endpoint "`+tt.endpoint+`" `+tt.problem)):
			t.Errorf("endpoint %q: err = %v, want %q", tt.endpoint, err, tt.problem)
		}
	}
}
