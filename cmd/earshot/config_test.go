package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// longToken is an admin token of an acceptable length.
const longToken = "0123456789abcdef0123456789abcdef"

// env is a fake environment for LoadConfig.
type env map[string]string

func (e env) get(name string) string { return e[name] }

// writeConfig writes a config file into a temporary directory.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "earshot.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfig(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		c, err := LoadConfig(nil, env{}.get)
		if err != nil {
			t.Fatal(err)
		}
		want := Config{
			ARIURL: "http://127.0.0.1:8088", ARIUser: "earshot", ARIApp: "earshot", NodeID: "main",
			HTTPAddr: "127.0.0.1:8080", MetricsAuth: true, DB: "earshot.db", DefaultRegion: "FI",
			Push: PushLog, PushQueue: 1024, PushAttempts: 5, PushTimeout: 15 * time.Second, WebPushSubject: "mailto:earshot@localhost",
			LogLevel: slog.LevelInfo, LogFormat: "text", OfferTTL: 2 * time.Minute, TokenTTL: 8 * time.Hour, AgentTone: "connect", DTMFModes: true, DTMFKeys: "456",
			Args: []string{},
		}
		if fmt.Sprintf("%#v", *c) != fmt.Sprintf("%#v", want) {
			t.Errorf("defaults:\n got %#v\nwant %#v", *c, want)
		}
	})

	t.Run("Values", func(t *testing.T) {
		c, err := LoadConfig([]string{
			"--ari-url=https://pbx.example:8089/", "--ari-password", "pw",
			"--http-addr", ":9090", "--supervising-number", "09 1234 599",
			"--default-region", "fi", "--push", "fcm", "--fcm-credentials", "sa.json",
			"--fcm-project", "earshot-test", "--fcm-endpoint", "http://127.0.0.1:9999/v1",
			"--log-level", "debug", "--log-format", "json", "--offer-ttl", "90s",
			"--agent-tone", "every", "--dtmf-modes=false", "--dtmf-keys", "*0#", "--offer-codes",
			"import", "--dry-run",
		}, env{}.get)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case c.SupervisingNumber != "+35891234599":
			t.Errorf("SupervisingNumber = %q, want it normalised", c.SupervisingNumber)
		case c.DefaultRegion != "FI":
			t.Errorf("DefaultRegion = %q", c.DefaultRegion)
		case c.LogLevel != slog.LevelDebug || c.LogFormat != "json":
			t.Errorf("log %v %s", c.LogLevel, c.LogFormat)
		case c.OfferTTL != 90*time.Second || c.AgentTone != "every":
			t.Errorf("offer-ttl %v, agent-tone %s", c.OfferTTL, c.AgentTone)
		case c.DTMFModes || c.DTMFKeys != "*0#" || !c.OfferCodes:
			t.Errorf("dtmf-modes %v, dtmf-keys %q, offer-codes %v", c.DTMFModes, c.DTMFKeys, c.OfferCodes)
		case c.Push != PushFCM || c.FCMCredentials != "sa.json" || c.FCMProject != "earshot-test" || c.FCMEndpoint != "http://127.0.0.1:9999/v1":
			t.Errorf("push %+v", c)
		case !slices.Equal(c.Args, []string{"import", "--dry-run"}):
			t.Errorf("Args = %q, want the subcommand and its arguments", c.Args)
		}
	})

	t.Run("ErrHelp", func(t *testing.T) {
		_, err := LoadConfig([]string{"-h"}, env{}.get)
		if !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("err = %v, want flag.ErrHelp", err)
		}
		for _, want := range []string{"--ari-url", "EARSHOT_ARI_URL", "--config", "EARSHOT_CONFIG", "(default http://127.0.0.1:8088)"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("usage lacks %q:\n%s", want, err)
			}
		}
	})

	t.Run("ErrUnknownFlag", func(t *testing.T) {
		_, err := LoadConfig([]string{"--ari-ulr", "x"}, env{}.get)
		if err == nil || !strings.Contains(err.Error(), "ari-ulr") {
			t.Fatalf("err = %v, want one naming the flag", err)
		}
	})
}

// TestLoadConfig_Precedence checks flag > environment > file > default.
func TestLoadConfig_Precedence(t *testing.T) {
	file := writeConfig(t, "ari-user: from-file\n")
	for _, tt := range []struct {
		name string
		args []string
		env  env
		want string
	}{
		{"Default", nil, env{}, "earshot"},
		{"File", []string{"--config", file}, env{}, "from-file"},
		{"FileFromEnv", nil, env{"EARSHOT_CONFIG": file}, "from-file"},
		{"EnvOverFile", []string{"--config", file}, env{"EARSHOT_ARI_USER": "from-env"}, "from-env"},
		{"EmptyEnvIsUnset", []string{"--config", file}, env{"EARSHOT_ARI_USER": ""}, "from-file"},
		{"FlagOverEnv", []string{"--config", file, "--ari-user", "from-flag"}, env{"EARSHOT_ARI_USER": "from-env"}, "from-flag"},
		{"FlagOverDefault", []string{"--ari-user=from-flag"}, env{}, "from-flag"},
		{"ConfigFlagOverEnv", []string{"--config", file}, env{"EARSHOT_CONFIG": "/nonexistent.yaml"}, "from-file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadConfig(tt.args, tt.env.get)
			if err != nil {
				t.Fatal(err)
			}
			if c.ARIUser != tt.want {
				t.Errorf("ari-user = %q, want %q", c.ARIUser, tt.want)
			}
		})
	}

	// A bool flag given bare beats an environment variable saying false,
	// and an explicit false flag beats a true default.
	t.Run("Bool", func(t *testing.T) {
		c, err := LoadConfig([]string{"--offer-codes", "--dtmf-modes=false"}, env{"EARSHOT_OFFER_CODES": "false", "EARSHOT_DTMF_MODES": "true"}.get)
		if err != nil {
			t.Fatal(err)
		}
		if !c.OfferCodes || c.DTMFModes {
			t.Errorf("offer-codes %v, dtmf-modes %v", c.OfferCodes, c.DTMFModes)
		}
	})
}

// TestLoadConfig_Env sets each setting through its environment variable.
func TestLoadConfig_Env(t *testing.T) {
	for name, want := range map[string]string{
		"ari-url":            "EARSHOT_ARI_URL",
		"fcm-credentials":    "EARSHOT_FCM_CREDENTIALS",
		"supervising-number": "EARSHOT_SUPERVISING_NUMBER",
		"config":             "EARSHOT_CONFIG",
	} {
		if got := envName(name); got != want {
			t.Errorf("envName(%q) = %q, want %q", name, got, want)
		}
	}
	e := env{
		"EARSHOT_ARI_URL": "http://pbx:8088/ari", "EARSHOT_ARI_USER": "u", "EARSHOT_ARI_PASSWORD": "p",
		"EARSHOT_ARI_APP": "app", "EARSHOT_HTTP_ADDR": "0.0.0.0:80", "EARSHOT_DB": "/var/lib/earshot.db",
		"EARSHOT_TLS_CERT": "/etc/earshot/cert.pem", "EARSHOT_TLS_KEY": "/etc/earshot/key.pem",
		"EARSHOT_METRICS_ADDR": "127.0.0.1:9464", "EARSHOT_METRICS_AUTH": "false", "EARSHOT_TRUSTED_PROXIES": "127.0.0.1",
		"EARSHOT_DIRECTORY": "dir.yaml", "EARSHOT_ADMIN_TOKEN": longToken, "EARSHOT_SUPERVISING_NUMBER": "+35891234599",
		"EARSHOT_DEFAULT_REGION": "SE", "EARSHOT_PUSH": "fcm", "EARSHOT_FCM_CREDENTIALS": "sa.json",
		"EARSHOT_FCM_PROJECT": "proj", "EARSHOT_FCM_ENDPOINT": "https://fcm.example/v1", "EARSHOT_LOG_LEVEL": "warn",
		"EARSHOT_PUSH_QUEUE": "64", "EARSHOT_PUSH_ATTEMPTS": "3", "EARSHOT_PUSH_TIMEOUT": "2s", "EARSHOT_WEBPUSH_SUBJECT": "https://ops.example.com/contact",
		"EARSHOT_LOG_FORMAT": "json", "EARSHOT_OFFER_TTL": "5m", "EARSHOT_TOKEN_TTL": "30m", "EARSHOT_AGENT_TONE": "off",
		"EARSHOT_DTMF_MODES": "0", "EARSHOT_DTMF_KEYS": "123", "EARSHOT_OFFER_CODES": "1",
		"EARSHOT_NODE_ID": "hel", "EARSHOT_NODES": "id=tku,ari-url=http://pbx2:8088,supervising-number=+35821234599,ari-password=p2",
	}
	c, err := LoadConfig(nil, e.get)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		ARIURL: "http://pbx:8088/ari", ARIUser: "u", ARIPassword: "p", ARIApp: "app", NodeID: "hel",
		ExtraNodes: []NodeConfig{{ID: "tku", ARIURL: "http://pbx2:8088", ARIUser: "u", ARIPassword: "p2", ARIApp: "app", SupervisingNumber: "+35821234599"}},
		HTTPAddr:   "0.0.0.0:80",
		TLSCert:    "/etc/earshot/cert.pem", TLSKey: "/etc/earshot/key.pem",
		MetricsAddr: "127.0.0.1:9464", MetricsAuth: false,
		DB: "/var/lib/earshot.db", Directory: "dir.yaml", AdminToken: longToken, SupervisingNumber: "+35891234599",
		DefaultRegion: "SE", Push: "fcm", FCMCredentials: "sa.json", FCMProject: "proj",
		FCMEndpoint: "https://fcm.example/v1", PushQueue: 64, PushAttempts: 3, PushTimeout: 2 * time.Second, WebPushSubject: "https://ops.example.com/contact",
		LogLevel: slog.LevelWarn, LogFormat: "json", OfferTTL: 5 * time.Minute, TokenTTL: 30 * time.Minute,
		AgentTone: "off", DTMFModes: false, DTMFKeys: "123", OfferCodes: true, Args: []string{},
	}
	// %#v shows pointers: the ranges are compared by what they say.
	if got := proxiesString(c.TrustedProxies); got != "127.0.0.1/32" {
		t.Errorf("trusted-proxies = %q", got)
	}
	want.TrustedProxies = c.TrustedProxies
	if fmt.Sprintf("%#v", *c) != fmt.Sprintf("%#v", want) {
		t.Errorf("from the environment:\n got %#v\nwant %#v", *c, want)
	}
	// Every setting has its variable: the table above covers them all.
	for _, s := range settings {
		if _, ok := e[envName(s.name)]; !ok {
			t.Errorf("setting %s not covered", s.name)
		}
	}
}

func TestLoadConfig_File(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		path := writeConfig(t, `
# Scalars of any YAML type are read as text.
ari-url: http://pbx:8088
ari-password: "s3cret"
dtmf-keys: 456
dtmf-modes: false
offer-ttl: 45s
supervising-number: "+358 9 1234 599"
directory: ~
`)
		c, err := LoadConfig(nil, env{"EARSHOT_CONFIG": path}.get)
		if err != nil {
			t.Fatal(err)
		}
		if c.ARIURL != "http://pbx:8088" || c.ARIPassword != "s3cret" || c.DTMFKeys != "456" || c.DTMFModes ||
			c.OfferTTL != 45*time.Second || c.SupervisingNumber != "+35891234599" || c.Directory != "" || c.ConfigFile != path {
			t.Errorf("from the file: %#v", *c)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		if _, err := LoadConfig([]string{"--config", writeConfig(t, "")}, env{}.get); err != nil {
			t.Fatal(err)
		}
	})
	for _, tt := range []struct {
		name, text string
		want       []string
	}{
		{"ErrUnknownKey", "ari-user: x\nari-passwrd: y\nadmin_token: z\n", []string{
			`line 2: unknown key "ari-passwrd"`, `line 3: unknown key "admin_token"`,
		}},
		{"ErrConfigKey", "config: other.yaml\n", []string{`line 1: unknown key "config"`}},
		{"ErrDuplicate", "db: a.db\ndb: b.db\n", []string{`line 2: key "db" is already set on line 1`}},
		{"ErrNotScalar", "dtmf-keys: [4, 5, 6]\n", []string{`line 1: dtmf-keys: want a single value`}},
		{"ErrNotMapping", "- db\n", []string{"line 1: want a mapping"}},
		{"ErrSyntax", "db: 'a\n", []string{"config file"}},
		{"ErrValueToo", "bogus: 1\npush: carrier-pigeon\n", []string{`unknown key "bogus"`, `push: "carrier-pigeon" is not one of fcm, log, off`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig([]string{"--config", writeConfig(t, tt.text)}, env{}.get)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	t.Run("ErrNotExist", func(t *testing.T) {
		_, err := LoadConfig([]string{"--config", filepath.Join(t.TempDir(), "missing.yaml")}, env{}.get)
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v, want os.ErrNotExist", err)
		}
	})
}

func TestLoadConfig_Validation(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--ari-url", "ftp://x"}, `ari-url: "ftp://x" is not an http(s) URL`},
		{[]string{"--ari-url", "127.0.0.1:8088"}, `ari-url: "127.0.0.1:8088" is not an http(s) URL`},
		{[]string{"--ari-url", "ftp://u:hunter2@x"}, `ari-url: "ftp://u:xxxxx@x" is not an http(s) URL`},
		{[]string{"--ari-user", ""}, "ari-user: is empty"},
		{[]string{"--ari-app", "ear shot"}, `ari-app: "ear shot" is not a Stasis application name`},
		{[]string{"--http-addr", "8080"}, `http-addr: "8080" is not host:port`},
		{[]string{"--http-addr", "localhost:http"}, `http-addr: "localhost:http" is not host:port`},
		{[]string{"--http-addr", "localhost:70000"}, `http-addr: "localhost:70000" is not host:port`},
		{[]string{"--db", ""}, "db: is empty"},
		{[]string{"--default-region", "XX"}, `default-region: "XX" is not a known region`},
		{[]string{"--supervising-number", "abc"}, `supervising-number: phone number "abc" is not a valid number`},
		{[]string{"--supervising-number", "091234599", "--default-region", ""}, `supervising-number: phone number "091234599" is not a valid number: no country code`},
		{[]string{"--push", "apns"}, `push: "apns" is not one of fcm, log, off`},
		{[]string{"--push", "fcm", "--fcm-project", "p"}, "push: fcm needs fcm-credentials"},
		{[]string{"--push", "fcm", "--fcm-credentials", "sa.json"}, "push: fcm needs fcm-project"},
		{[]string{"--fcm-endpoint", "fcm.googleapis.com"}, `fcm-endpoint: "fcm.googleapis.com" is not an http(s) URL`},
		{[]string{"--push-queue", "0"}, `push-queue: "0" is not a number from 1 to 1000000`},
		{[]string{"--push-attempts", "many"}, `push-attempts: "many" is not a number from 1 to 20`},
		{[]string{"--push-timeout", "1h"}, `push-timeout: "1h" is not a duration from 100ms to 5m`},
		{[]string{"--webpush-subject", "ops@example.com"}, `webpush-subject: "ops@example.com" is not a mailto: or https: URL`},
		{[]string{"--webpush-subject", "mailto:"}, `webpush-subject: "mailto:" is not a mailto: or https: URL`},
		{[]string{"--webpush-subject", "http://ops.example.com"}, `webpush-subject: "http://ops.example.com" is not a mailto: or https: URL`},
		{[]string{"--log-level", "verbose"}, `log-level: "verbose" is not one of debug, info, warn, error`},
		{[]string{"--log-format", "xml"}, `log-format: "xml" is not one of text, json`},
		{[]string{"--offer-ttl", "2"}, `offer-ttl: "2" is not a duration`},
		{[]string{"--offer-ttl", "10ms"}, `offer-ttl: "10ms" is not a duration of at least 1s`},
		{[]string{"--token-ttl", "30s"}, `token-ttl: "30s" is not a duration from 1m to 168h`},
		{[]string{"--token-ttl", "720h"}, `token-ttl: "720h" is not a duration from 1m to 168h`},
		{[]string{"--agent-tone", "always"}, `agent-tone: "always" is not one of off, connect, every`},
		{[]string{"--dtmf-modes=maybe"}, `dtmf-modes: "maybe" is not true or false`},
		{[]string{"--offer-codes=yes"}, `offer-codes: "yes" is not true or false`},
		{[]string{"--dtmf-keys", "45"}, `dtmf-keys: "45" is not three different DTMF keys`},
		{[]string{"--dtmf-keys", "445"}, `dtmf-keys: "445" is not three different DTMF keys`},
		{[]string{"--dtmf-keys", "45x"}, `dtmf-keys: "45x" is not three different DTMF keys`},
		{[]string{"--metrics-addr", "9464"}, `metrics-addr: "9464" is not host:port`},
		{[]string{"--metrics-addr", "127.0.0.1:8080"}, `metrics-addr: "127.0.0.1:8080" is http-addr too`},
		{[]string{"--metrics-auth=sometimes"}, `metrics-auth: "sometimes" is not true or false`},
		{[]string{"--trusted-proxies", "127.0.0.1, proxy.example"}, `trusted-proxies: "proxy.example" is not an IP address or CIDR range`},
		{[]string{"--trusted-proxies", "10.0.0.0/33"}, `trusted-proxies: "10.0.0.0/33" is not an IP address or CIDR range`},
		{[]string{"--trusted-proxies", "0.0.0.0/0"}, `trusted-proxies: "0.0.0.0/0" trusts every address`},
		{[]string{"--trusted-proxies", "::/0"}, `trusted-proxies: "::/0" trusts every address`},
		{[]string{"--trusted-proxies", strings.Repeat("x", 10000)}, `trusted-proxies: "` + strings.Repeat("x", 64) + `" is not`},
		{[]string{"--trusted-proxies", strings.Repeat("127.0.0.1,", 65)}, "trusted-proxies: more than 64 entries"},
	} {
		_, err := LoadConfig(tt.args, env{}.get)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("LoadConfig(%q): err = %v, want %q", tt.args, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("LoadConfig(%q): error shows the password: %v", tt.args, err)
		}
	}

	t.Run("AllAtOnce", func(t *testing.T) {
		_, err := LoadConfig([]string{"--ari-url", "ftp://x", "--push", "fcm", "--log-format", "xml"}, env{"EARSHOT_DEFAULT_REGION": "XX"}.get)
		if err == nil {
			t.Fatal("no error")
		}
		for _, w := range []string{"ari-url:", "default-region:", "push: fcm needs fcm-credentials", "push: fcm needs fcm-project", "log-format:"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error lacks %q:\n%v", w, err)
			}
		}
	})
}

func TestConfig_ARIBase(t *testing.T) {
	for _, tt := range []struct{ url, want string }{
		{"http://127.0.0.1:8088", "http://127.0.0.1:8088/ari"},
		{"http://127.0.0.1:8088/", "http://127.0.0.1:8088/ari"},
		{"http://127.0.0.1:8088/ari", "http://127.0.0.1:8088/ari"},
		{"http://127.0.0.1:8088/ari/", "http://127.0.0.1:8088/ari"},
		{"https://pbx.example/asterisk", "https://pbx.example/asterisk/ari"},
		{"https://pbx.example/asterisk/ari//", "https://pbx.example/asterisk/ari"},
		{"http://pbx/safari", "http://pbx/safari/ari"},
	} {
		c := &Config{ARIURL: tt.url}
		if got := c.ARIBase(); got != tt.want {
			t.Errorf("ARIBase(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

func TestConfig_Redacted(t *testing.T) {
	const (
		password = "ari-hunter2"
		token    = "admin-hunter2-admin-hunter2-admin-hunter2"
		urlPass  = "url-hunter2"
	)
	c, err := LoadConfig([]string{
		"--ari-password", password, "--admin-token", token,
		"--ari-url", "http://earshot:" + urlPass + "@pbx:8088",
	}, env{}.get)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Redacted()
	if r["ari-password"] != "***" || r["admin-token"] != "***" {
		t.Errorf("secrets: ari-password %q, admin-token %q", r["ari-password"], r["admin-token"])
	}
	if r["ari-url"] != "http://earshot:xxxxx@pbx:8088" || r["ari-user"] != "earshot" || r["dtmf-modes"] != "true" || r["offer-ttl"] != "2m0s" || r["log-level"] != "info" {
		t.Errorf("Redacted = %v", r)
	}
	for _, s := range settings {
		if _, ok := r[s.name]; !ok {
			t.Errorf("Redacted lacks %s", s.name)
		}
	}
	if empty := (&Config{}).Redacted(); empty["ari-password"] != "" {
		t.Errorf("unset secret shows as %q, want empty", empty["ari-password"])
	}

	// Whatever way the configuration reaches a log, no secret comes along.
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("starting", "config", c)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("starting", slog.Any("config", c))
	fmt.Fprintf(&buf, "%v %+v %s\n", c, c, c)
	out := buf.String()
	for _, secret := range []string{password, token, urlPass} {
		if strings.Contains(out, secret) {
			t.Errorf("%q leaked:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, `"ari-password":"***"`) || !strings.Contains(out, `"dtmf-keys":"456"`) {
		t.Errorf("log lacks the redacted settings:\n%s", out)
	}
}

// The shipped example configuration is valid.
func TestLoadConfig_TrustedProxies(t *testing.T) {
	// Hosts become one-address ranges; ranges stay as written; the
	// redacted view writes them back in a form the setting reads.
	c, err := LoadConfig([]string{"--trusted-proxies", " 127.0.0.1, ::1,10.1.0.0/16 ,, fd00::/8"}, env{}.get)
	if err != nil {
		t.Fatal(err)
	}
	const want = "127.0.0.1/32,::1/128,10.1.0.0/16,fd00::/8"
	if got := c.Redacted()["trusted-proxies"]; got != want {
		t.Errorf("trusted-proxies = %q, want %q", got, want)
	}
	again, err := LoadConfig([]string{"--trusted-proxies", want}, env{}.get)
	if err != nil || fmt.Sprint(again.TrustedProxies) != fmt.Sprint(c.TrustedProxies) {
		t.Errorf("read back: %v, %v; want %v", again.TrustedProxies, err, c.TrustedProxies)
	}
	for _, ip := range []string{"127.0.0.1", "::1", "10.1.200.3", "fd12::5"} {
		if !slices.ContainsFunc(c.TrustedProxies, func(n *net.IPNet) bool { return n.Contains(net.ParseIP(ip)) }) {
			t.Errorf("%s is not trusted", ip)
		}
	}
	for _, ip := range []string{"127.0.0.2", "10.2.0.1", "192.168.1.1", "fe80::1"} {
		if slices.ContainsFunc(c.TrustedProxies, func(n *net.IPNet) bool { return n.Contains(net.ParseIP(ip)) }) {
			t.Errorf("%s is trusted", ip)
		}
	}
}

func TestLoadConfig_Example(t *testing.T) {
	c, err := LoadConfig([]string{"--config", "../../deploy/earshot.yaml"}, env{}.get)
	if err != nil {
		t.Fatal(err)
	}
	if c.SupervisingNumber != "+35891234599" || c.LogFormat != "json" {
		t.Errorf("example config read as %+v", c)
	}
}

// The admin token opens every operator route: a short or unusable one is
// refused at start, with the reason and how to make a good one.
func TestLoadConfig_AdminToken(t *testing.T) {
	for _, tt := range []struct {
		name, token string
		want        []string // in the error; nil: accepted
	}{
		{"None", "", nil},
		{"Min", strings.Repeat("a", MinAdminTokenLen), nil},
		{"OpenSSLHex", "3f9a0c5e1b7d2f4a6c8e0b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a", nil},
		{"Printable", "A-b_c.d~e!f@g#h$i%j^k&l*m(n)o+p=q", nil},
		{"ErrOneChar", "x", []string{"admin-token: is 1 characters long", "at least 32", "openssl rand -hex 32"}},
		{"ErrJustShort", strings.Repeat("a", MinAdminTokenLen-1), []string{"is 31 characters long"}},
		{"ErrSpace", "0123456789abcdef 0123456789abcdef", []string{"admin-token: has a space"}},
		{"ErrTrailingSpace", longToken + " ", []string{"admin-token: has a space"}},
		{"ErrControl", longToken + "\x00", []string{"admin-token: has a space, a control"}},
		{"ErrNonASCII", longToken + "é", []string{"non-ASCII"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadConfig([]string{"--admin-token", tt.token}, env{}.get)
			if tt.want == nil {
				if err != nil || c.AdminToken != tt.token {
					t.Fatalf("err = %v, token %q", err, c.AdminToken)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if len(tt.token) > 4 && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
	// From the environment and the file alike.
	if _, err := LoadConfig(nil, env{"EARSHOT_ADMIN_TOKEN": "short"}.get); err == nil || !strings.Contains(err.Error(), "admin-token: is 5 characters long") {
		t.Errorf("from the environment: %v", err)
	}
	if _, err := LoadConfig([]string{"--config", writeConfig(t, "admin-token: short\n")}, env{}.get); err == nil || !strings.Contains(err.Error(), "admin-token: is 5") {
		t.Errorf("from the file: %v", err)
	}
}

func TestConfig_Warnings(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want []string // each a part of one warning, in order
	}{
		{"AllSet", []string{"--supervising-number", "+35891234599", "--ari-password", "pw", "--admin-token", longToken}, nil},
		{"Nothing", nil, []string{"supervising-number is not set", "ari-password is not set", "admin-token is not set"}},
		{"NoSupervisingNumber", []string{"--ari-password", "pw", "--admin-token", longToken}, []string{"supervising-number is not set: earshot refuses to serve"}},
		{"NoPassword", []string{"--supervising-number", "+35891234599", "--admin-token", longToken}, []string{"ari-password is not set"}},
		{"NoAdminToken", []string{"--supervising-number", "+35891234599", "--ari-password", "pw"}, []string{"admin-token is not set: the operator routes"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadConfig(tt.args, env{}.get)
			if err != nil {
				t.Fatal(err)
			}
			got := c.Warnings()
			if len(got) != len(tt.want) {
				t.Fatalf("warnings %q, want %d", got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %d = %q, want %q in it", i, got[i], w)
				}
			}
		})
	}
	// Without an admin token, /metrics on the API's address is gone too,
	// unless it has its own address or is open.
	for _, tt := range []struct {
		args        []string
		wantMetrics bool
	}{
		{nil, true},
		{[]string{"--metrics-addr", "127.0.0.1:9464"}, false},
		{[]string{"--metrics-auth=false"}, false},
	} {
		c, err := LoadConfig(tt.args, env{}.get)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(strings.Join(c.Warnings(), "\n"), "/metrics is not served"); got != tt.wantMetrics {
			t.Errorf("%q: warns about /metrics %v, want %v: %q", tt.args, got, tt.wantMetrics, c.Warnings())
		}
	}
}

// Under systemd, credentials named after settings (LoadCredential= in
// deploy/earshot.service) supply secrets and files the service's dynamic
// user could not read from /etc.
func TestLoadConfig_Credentials(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	write("ari-password", "from-credential\n")
	write("admin-token", longToken+"\r\n")
	write("fcm-credentials", `{"type":"service_account"}`)
	write("directory", "\n") // the unit's SetCredential= default: unset
	write("db", "/not/a/credential.db")
	file := writeConfig(t, "ari-password: from-file\nfcm-credentials: /etc/earshot/sa.json\ndirectory: from-file.yaml\n")

	c, err := LoadConfig([]string{"--config", file}, env{"CREDENTIALS_DIRECTORY": dir}.get)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case c.ARIPassword != "from-credential":
		t.Errorf("ari-password = %q, want the credential's content without its newline", c.ARIPassword)
	case c.AdminToken != longToken:
		t.Errorf("admin-token = %q", c.AdminToken)
	case c.FCMCredentials != filepath.Join(dir, "fcm-credentials"):
		t.Errorf("fcm-credentials = %q, want the credential's path", c.FCMCredentials)
	case c.Directory != "from-file.yaml":
		t.Errorf("directory = %q, want the file's (the credential is empty)", c.Directory)
	case c.DB != "earshot.db":
		t.Errorf("db = %q: db is no credential", c.DB)
	}

	// The environment and flags still win.
	c, err = LoadConfig([]string{"--ari-password", "from-flag"}, env{"CREDENTIALS_DIRECTORY": dir, "EARSHOT_ADMIN_TOKEN": longToken + "env"}.get)
	if err != nil {
		t.Fatal(err)
	}
	if c.ARIPassword != "from-flag" || c.AdminToken != longToken+"env" {
		t.Errorf("ari-password %q, admin-token %q", c.ARIPassword, c.AdminToken)
	}

	// Placeholders of white space are unset, for secrets and paths alike.
	blank := t.TempDir()
	for _, name := range []string{"ari-password", "admin-token", "fcm-credentials", "directory"} {
		if err := os.WriteFile(filepath.Join(blank, name), []byte("\n"), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	c, err = LoadConfig(nil, env{"CREDENTIALS_DIRECTORY": blank}.get)
	if err != nil {
		t.Fatal(err)
	}
	if c.ARIPassword != "" || c.AdminToken != "" || c.FCMCredentials != "" || c.Directory != "" {
		t.Errorf("blank credentials read as %+v", c)
	}

	// A credential is checked like any value, and a huge one is refused.
	short := t.TempDir()
	if err := os.WriteFile(filepath.Join(short, "admin-token"), []byte("short\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(short, "ari-password"), bytes.Repeat([]byte("x"), maxCredential+1), 0o400); err != nil {
		t.Fatal(err)
	}
	_, err = LoadConfig(nil, env{"CREDENTIALS_DIRECTORY": short}.get)
	for _, w := range []string{"admin-token: is 5 characters long", "ari-password: credential", "larger than"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("err = %v, want %q", err, w)
		}
	}
}

// TestLoadConfig_Nodes checks the nodes setting: each further node's
// defaults, and a problem naming the node (never its password) for each
// mistake.
func TestLoadConfig_Nodes(t *testing.T) {
	base := []string{"--supervising-number", "+35891234599", "--ari-password", "pw"}
	t.Run("OK", func(t *testing.T) {
		c, err := LoadConfig(append(base, "--node-id", "a", "--nodes",
			" id=b, ari-url=http://10.0.0.2:8088, supervising-number=09 1234 598 ; id=c,ari-url=https://c:8089/ari,supervising-number=+35891234597,ari-user=x,ari-password=y,ari-app=z;"), env{}.get)
		if err != nil {
			t.Fatal(err)
		}
		got := c.Nodes()
		want := []NodeConfig{
			{ID: "a", ARIURL: "http://127.0.0.1:8088", ARIUser: "earshot", ARIPassword: "pw", ARIApp: "earshot", SupervisingNumber: "+35891234599"},
			{ID: "b", ARIURL: "http://10.0.0.2:8088", ARIUser: "earshot", ARIPassword: "pw", ARIApp: "earshot", SupervisingNumber: "+35891234598"},
			{ID: "c", ARIURL: "https://c:8089/ari", ARIUser: "x", ARIPassword: "y", ARIApp: "z", SupervisingNumber: "+35891234597"},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("nodes:\n got %v\nwant %v", got, want)
		}
		if got[2].ARIBase() != "https://c:8089/ari" || got[1].ARIBase() != "http://10.0.0.2:8088/ari" {
			t.Errorf("ari bases %s, %s", got[1].ARIBase(), got[2].ARIBase())
		}
		if r := c.Redacted()["nodes"]; strings.Contains(r, "=y") || !strings.Contains(r, "ari-password=***") {
			t.Errorf("redacted nodes %q shows a password or hides that one is set", r)
		}
	})
	for _, tc := range []struct {
		name, nodes string
		args        []string
		want        string
	}{
		{"NoID", "ari-url=http://b:8088,supervising-number=+35891234598", nil, "node 1: id is missing"},
		{"BadID", "id=B C,ari-url=http://b:8088,supervising-number=+35891234598", nil, `node "B C": id is not`},
		{"SameID", "id=main,ari-url=http://b:8088,supervising-number=+35891234598", nil, `node "main": id is used twice`},
		{"BadURL", "id=b,ari-url=ftp://b,supervising-number=+35891234598", nil, "node b: ari-url"},
		{"NoNumber", "id=b,ari-url=http://b:8088", nil, "node b: supervising-number is missing"},
		{"SameNumber", "id=b,ari-url=http://b:8088,supervising-number=+35891234599", nil, "is node main's too"},
		{"BadNumber", "id=b,ari-url=http://b:8088,supervising-number=12", nil, "node b: supervising-number:"},
		{"UnknownKey", "id=b,ari-url=http://b:8088,supervising-number=+35891234598,color=red", nil, `unknown key "color"`},
		{"NotKeyValue", "id=b,ari-url=http://b:8088,supervising-number=+35891234598,hunter2secret", nil, `"hunt…" is not key=value`},
		{"FirstNodeWithoutNumber", "id=b,ari-url=http://b:8088,supervising-number=+35891234598", []string{"--ari-password", "pw"}, "several nodes need supervising-number"},
		{"BadNodeID", "", []string{"--supervising-number", "+35891234599", "--node-id", "Main"}, "node-id: \"Main\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if args == nil {
				args = base
			}
			if tc.nodes != "" {
				args = append(slices.Clone(args), "--nodes", tc.nodes)
			}
			_, err := LoadConfig(args, env{}.get)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows a password: %v", err)
			}
		})
	}
}
