package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/phone"
)

// Config is every setting of the earshot process (docs/design.md §4.2).
// Each setting has one name used three ways: the flag --ari-url, the
// environment variable EARSHOT_ARI_URL and the config-file key ari-url.
type Config struct {
	ARIURL      string // ari-url: Asterisk's HTTP base; see ARIBase
	ARIUser     string // ari-user
	ARIPassword string // ari-password (secret)
	ARIApp      string // ari-app: the Stasis application name
	// NodeID names the Asterisk node the ari-* settings reach (node-id);
	// ExtraNodes are the others (nodes), see nodes.go.
	NodeID     string
	ExtraNodes []NodeConfig

	HTTPAddr string // http-addr: host:port of the API
	TLSCert  string // tls-cert: PEM certificate file; with TLSKey, serve HTTPS
	TLSKey   string // tls-key: its PEM private key
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (trusted-proxies); none: the TCP peer is the client.
	TrustedProxies []*net.IPNet
	DB             string // db: path of the bbolt file
	Directory      string // directory: YAML file imported at start; "" for none
	AdminToken     string // admin-token: the operator API credential (secret); "" disables the operator API

	// MetricsAddr is host:port of a listener serving only /metrics,
	// without credentials; "" serves /metrics on the API's address.
	MetricsAddr string
	// MetricsAuth makes /metrics on the API's address ask for the admin
	// token (metrics-auth); it does not apply to MetricsAddr.
	MetricsAuth bool

	// SupervisingNumber is the number offers tell supervisors to call,
	// normalised to E.164; "" when unset.
	SupervisingNumber string
	// DefaultRegion is the ISO country (upper case) for numbers written
	// without a country code; "" requires one everywhere.
	DefaultRegion string

	Push           string        // push: PushFCM, PushLog or PushOff
	FCMCredentials string        // fcm-credentials: service-account JSON file
	FCMProject     string        // fcm-project
	FCMEndpoint    string        // fcm-endpoint: FCM base URL override (tests, proxies); "" for Google's
	PushQueue      int           // push-queue: notifications waiting for delivery at most
	PushAttempts   int           // push-attempts: tries per notification, the first included
	PushTimeout    time.Duration // push-timeout: how long one delivery attempt may take
	WebPushSubject string        // webpush-subject: the VAPID contact (mailto: or https: URL) Web Push services may use

	LogLevel  slog.Level // log-level: debug, info, warn or error
	LogFormat string     // log-format: text or json

	OfferTTL   time.Duration // offer-ttl: how long a listen offer stays valid
	TokenTTL   time.Duration // token-ttl: how long a sign-in token lasts
	AgentTone  string        // agent-tone: off, connect or every (R10)
	DTMFModes  bool          // dtmf-modes: mode switching by DTMF on the supervisor's call
	DTMFKeys   string        // dtmf-keys: the keys for listen, whisper and barge
	OfferCodes bool          // offer-codes: a one-time DTMF code on top of the caller number

	// ConfigFile is the file the settings were read from, "" for none.
	ConfigFile string
	// Args are the arguments after the flags (a subcommand and its own).
	Args []string
}

// Push modes.
const (
	PushFCM = "fcm"
	PushLog = "log"
	PushOff = "off"
)

// setting describes one setting: its name, default and help. Parsing and
// checking live in LoadConfig, so every setting is treated alike whatever
// source it comes from.
type setting struct {
	name, def, usage string
	secret, isBool   bool
	// cred says what a systemd credential named after the setting
	// (a file in $CREDENTIALS_DIRECTORY, see deploy/earshot.service)
	// gives it: its content (secrets) or its path (files).
	cred credKind
}

type credKind int

const (
	credNone    credKind = iota
	credContent          // the setting is the file's content
	credPath             // the setting is the file's path
)

// MinAdminTokenLen is the shortest admin token Earshot accepts. The token
// opens every operator route (users, pools, backups of the whole store),
// so it must not be guessable: 32 characters of `openssl rand -hex 32`
// (which prints 64) are 128 bits.
const MinAdminTokenLen = 32

// maxCredential bounds a secret read from a credential file.
const maxCredential = 4 << 10

// settings lists every setting in the order usage shows them.
var settings = []setting{
	{name: "ari-url", def: "http://127.0.0.1:8088", usage: "Asterisk's HTTP base URL (Earshot appends /ari)"},
	{name: "ari-user", def: "earshot", usage: "ARI user"},
	{name: "ari-password", usage: "ARI password", secret: true, cred: credContent},
	{name: "ari-app", def: "earshot", usage: "Stasis application name"},
	{name: "node-id", def: "main", usage: "id of the Asterisk node the ari-* settings reach (several nodes: see nodes)"},
	{name: "nodes", usage: "further Asterisk nodes, ';'-separated: id=b,ari-url=URL,supervising-number=NUMBER[,ari-user=,ari-password=,ari-app=]", secret: true, cred: credContent},
	{name: "http-addr", def: "127.0.0.1:8080", usage: "host:port the API listens on"},
	{name: "tls-cert", usage: "PEM certificate (chain) file: serve HTTPS on http-addr, reloaded when the file changes (a browser gives the microphone to Listen here only on HTTPS or localhost)"},
	{name: "tls-key", usage: "PEM private key of tls-cert"},
	{name: "trusted-proxies", usage: "reverse proxies in front of the API, comma-separated addresses or CIDR ranges: their X-Forwarded-For names the client (sign-in limits count clients, not the proxy)"},
	{name: "metrics-addr", usage: "host:port serving only /metrics, without credentials (default: /metrics on http-addr)"},
	{name: "metrics-auth", def: "true", usage: "/metrics on http-addr needs the admin token", isBool: true},
	{name: "db", def: "earshot.db", usage: "path of the database file"},
	{name: "directory", usage: "directory YAML file imported at start", cred: credPath},
	{name: "admin-token", usage: "operator API credential, at least 32 characters (openssl rand -hex 32)", secret: true, cred: credContent},
	{name: "supervising-number", usage: "E.164 number supervisors call to listen"},
	{name: "default-region", def: "FI", usage: "ISO country for numbers written without +"},
	{name: "push", def: PushLog, usage: "push notifications: fcm, log or off"},
	{name: "fcm-credentials", usage: "FCM service-account JSON file", cred: credPath},
	{name: "fcm-project", usage: "FCM project id"},
	{name: "fcm-endpoint", usage: "FCM base URL override"},
	{name: "push-queue", def: "1024", usage: "notifications waiting for delivery at most (more are dropped)"},
	{name: "push-attempts", def: "5", usage: "tries per notification on 429, 5xx or no answer"},
	{name: "push-timeout", def: "15s", usage: "how long one delivery attempt may take"},
	{name: "webpush-subject", def: "mailto:earshot@localhost", usage: "Web Push VAPID contact: a mailto: or https: URL push services may use to reach the operator"},
	{name: "log-level", def: "info", usage: "debug, info, warn or error"},
	{name: "log-format", def: "text", usage: "text or json"},
	{name: "offer-ttl", def: "2m", usage: "how long a listen offer stays valid"},
	{name: "token-ttl", def: "8h", usage: "how long a sign-in token lasts (1m to 7 days)"},
	{name: "agent-tone", def: "connect", usage: "tone the agent hears: off, connect or every"},
	{name: "dtmf-modes", def: "true", usage: "switch modes by DTMF on the supervisor's call", isBool: true},
	{name: "dtmf-keys", def: "456", usage: "DTMF keys for listen, whisper, barge"},
	{name: "offer-codes", def: "false", usage: "require a one-time DTMF code after connecting", isBool: true},
}

// envName returns the environment variable of a setting: "ari-url" →
// "EARSHOT_ARI_URL".
func envName(name string) string {
	return "EARSHOT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// rawValue is a flag that keeps its text; values are parsed after the
// sources are merged, so a bad value reads the same from any source.
type rawValue struct {
	s      string
	isBool bool
}

func (v *rawValue) String() string     { return v.s }
func (v *rawValue) Set(s string) error { v.s = s; return nil }
func (v *rawValue) IsBoolFlag() bool   { return v.isBool }

// LoadConfig reads the settings from args (without the program name),
// the environment through getenv (os.Getenv in production) and the file
// named by --config or EARSHOT_CONFIG. Under systemd, a credential named
// after a setting (ari-password, admin-token, fcm-credentials, directory)
// counts as well, between the environment and the file. A flag beats the
// environment, which beats a credential, which beats the file, which
// beats the default; an empty environment variable or credential counts
// as unset. It checks every value and reports all problems at once, each
// naming its setting. For -h it returns an error wrapping flag.ErrHelp
// whose text is the usage.
func LoadConfig(args []string, getenv func(string) string) (*Config, error) {
	fs := flag.NewFlagSet("earshot", flag.ContinueOnError)
	// Errors are returned, not printed: main decides where they go.
	fs.SetOutput(io.Discard)
	values := make(map[string]*rawValue, len(settings))
	for _, s := range settings {
		values[s.name] = &rawValue{isBool: s.isBool}
		fs.Var(values[s.name], s.name, s.usage)
	}
	configFile := fs.String("config", "", "YAML file of settings (keys are the flag names)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, helpError{}
		}
		return nil, fmt.Errorf("flags: %w", err)
	}
	fromFlag := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { fromFlag[f.Name] = true })

	path := *configFile
	if !fromFlag["config"] {
		path = getenv(envName("config"))
	}
	var fromFile map[string]string
	var problems []error
	if path != "" {
		var err error
		fromFile, problems, err = readConfigFile(path)
		if err != nil {
			return nil, err
		}
	}

	creds, credProblems := readCredentials(getenv("CREDENTIALS_DIRECTORY"))
	problems = append(problems, credProblems...)
	raw := make(map[string]string, len(settings))
	for _, s := range settings {
		switch v, inFile := fromFile[s.name]; {
		case fromFlag[s.name]:
			raw[s.name] = values[s.name].s
		case getenv(envName(s.name)) != "":
			raw[s.name] = getenv(envName(s.name))
		case creds[s.name] != "":
			raw[s.name] = creds[s.name]
		case inFile:
			raw[s.name] = v
		default:
			raw[s.name] = s.def
		}
	}
	c, more := parseConfig(raw)
	c.ConfigFile = path
	c.Args = append([]string{}, fs.Args()...)
	if problems = append(problems, more...); len(problems) > 0 {
		return nil, fmt.Errorf("configuration:\n%w", errors.Join(problems...))
	}
	return c, nil
}

// helpError answers -h with the usage.
type helpError struct{}

func (helpError) Error() string { return usage() }
func (helpError) Unwrap() error { return flag.ErrHelp }

// usage describes every setting with its environment variable and default.
func usage() string {
	var b bytes.Buffer
	b.WriteString("Usage: earshot [flags] [command]\n\nFlags (each also EARSHOT_<NAME>, or a key of the --config file):\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  --config\t%s\tYAML file of settings (keys are the flag names)\n", envName("config"))
	for _, s := range settings {
		def := ""
		if s.def != "" {
			def = fmt.Sprintf(" (default %s)", s.def)
		}
		fmt.Fprintf(tw, "  --%s\t%s\t%s%s\n", s.name, envName(s.name), s.usage, def)
	}
	tw.Flush()
	return b.String()
}

// readCredentials reads the systemd credentials named after settings from
// dir ($CREDENTIALS_DIRECTORY; "" for none). systemd makes them readable
// to the service alone, so secrets and root-only files reach a
// DynamicUser service without a world-readable copy. A credential of
// nothing but white space counts as unset: it is the unit's default
// (SetCredential=NAME:\n, since systemd refuses an empty value) for a
// file the site does not have.
func readCredentials(dir string) (map[string]string, []error) {
	out := map[string]string{}
	if dir == "" {
		return out, nil
	}
	var problems []error
	for _, s := range settings {
		if s.cred == credNone {
			continue
		}
		path := filepath.Join(dir, s.name)
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			continue
		case err != nil:
			problems = append(problems, fmt.Errorf("%s: credential: %w", s.name, err))
			continue
		case s.cred == credPath && fi.Size() > maxCredential:
			out[s.name] = path // surely not a placeholder
			continue
		case fi.Size() > maxCredential:
			problems = append(problems, fmt.Errorf("%s: credential %s is larger than %d bytes", s.name, path, maxCredential))
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: credential: %w", s.name, err))
			continue
		}
		switch {
		case strings.TrimSpace(string(data)) == "":
		case s.cred == credPath:
			out[s.name] = path
		default:
			// Files written by editors and echo end in a newline.
			out[s.name] = strings.TrimRight(string(data), "\r\n")
		}
	}
	return out, problems
}

// readConfigFile reads a YAML mapping of setting names to scalar values.
// Unknown keys are problems rather than ignored, since a misspelt key
// would leave a setting at its default without a word.
func readConfigFile(path string) (map[string]string, []error, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("config file %s: %w", path, err)
	}
	out := map[string]string{}
	if len(doc.Content) == 0 {
		return out, nil, nil // an empty file sets nothing
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("config file %s: line %d: want a mapping of setting names to values", path, top.Line)
	}
	known := map[string]bool{}
	for _, s := range settings {
		known[s.name] = true
	}
	var problems []error
	lines := map[string]int{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		key, val := top.Content[i], top.Content[i+1]
		switch {
		case !known[key.Value]:
			problems = append(problems, fmt.Errorf("config file %s: line %d: unknown key %q", path, key.Line, key.Value))
		case lines[key.Value] > 0:
			problems = append(problems, fmt.Errorf("config file %s: line %d: key %q is already set on line %d", path, key.Line, key.Value, lines[key.Value]))
		case val.Kind != yaml.ScalarNode:
			problems = append(problems, fmt.Errorf("config file %s: line %d: %s: want a single value", path, val.Line, key.Value))
		default:
			lines[key.Value] = key.Line
			if val.Tag != "!!null" {
				out[key.Value] = val.Value
			}
		}
	}
	return out, problems, nil
}

// parseConfig turns merged raw values into a Config, collecting a problem
// for every bad value.
func parseConfig(raw map[string]string) (*Config, []error) {
	var problems []error
	bad := func(name, format string, args ...any) {
		problems = append(problems, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	c := &Config{
		ARIURL:         raw["ari-url"],
		ARIUser:        raw["ari-user"],
		ARIPassword:    raw["ari-password"],
		ARIApp:         raw["ari-app"],
		NodeID:         raw["node-id"],
		HTTPAddr:       raw["http-addr"],
		TLSCert:        raw["tls-cert"],
		TLSKey:         raw["tls-key"],
		MetricsAddr:    raw["metrics-addr"],
		DB:             raw["db"],
		Directory:      raw["directory"],
		AdminToken:     raw["admin-token"],
		DefaultRegion:  strings.ToUpper(raw["default-region"]),
		Push:           raw["push"],
		FCMCredentials: raw["fcm-credentials"],
		FCMProject:     raw["fcm-project"],
		FCMEndpoint:    raw["fcm-endpoint"],
		WebPushSubject: raw["webpush-subject"],
		LogFormat:      raw["log-format"],
		AgentTone:      raw["agent-tone"],
		DTMFKeys:       raw["dtmf-keys"],
	}

	if !isHTTPURL(c.ARIURL) {
		bad("ari-url", "%q is not an http(s) URL", redactURL(c.ARIURL))
	}
	if c.ARIUser == "" {
		bad("ari-user", "is empty")
	}
	if c.ARIApp == "" || strings.ContainsAny(c.ARIApp, " \t/,") {
		bad("ari-app", "%q is not a Stasis application name (non-empty, no spaces, slashes or commas)", c.ARIApp)
	}
	var err error
	if !isHostPort(c.HTTPAddr) {
		bad("http-addr", "%q is not host:port (e.g. 127.0.0.1:8080 or :8080)", c.HTTPAddr)
	}
	switch {
	case c.TLSCert == "" && c.TLSKey != "":
		bad("tls-cert", "is empty while tls-key is set; set both to serve HTTPS, or neither")
	case c.TLSCert != "" && c.TLSKey == "":
		bad("tls-key", "is empty while tls-cert is set; set both to serve HTTPS, or neither")
	}
	if c.TrustedProxies, err = parseProxies(raw["trusted-proxies"]); err != nil {
		bad("trusted-proxies", "%v", err)
	}
	switch {
	case c.MetricsAddr == "":
	case !isHostPort(c.MetricsAddr):
		bad("metrics-addr", "%q is not host:port (e.g. 127.0.0.1:9464)", c.MetricsAddr)
	case c.MetricsAddr == c.HTTPAddr:
		bad("metrics-addr", "%q is http-addr too; leave metrics-addr empty to serve /metrics on the API's address", c.MetricsAddr)
	}
	if c.MetricsAuth, err = strconv.ParseBool(raw["metrics-auth"]); err != nil {
		bad("metrics-auth", "%q is not true or false", raw["metrics-auth"])
	}
	if msg := adminTokenProblem(c.AdminToken); msg != "" {
		bad("admin-token", "%s", msg)
	}
	if c.DB == "" {
		bad("db", "is empty")
	}

	region := c.DefaultRegion
	if region != "" && !phone.KnownRegion(region) {
		bad("default-region", "%q is not a known region", raw["default-region"])
		region = "" // so supervising-number is checked on its own merits
	}
	if raw["supervising-number"] != "" {
		n, err := phone.Normalize(raw["supervising-number"], region)
		if err != nil {
			bad("supervising-number", "%s", earshot.ErrorMessage(err))
		}
		c.SupervisingNumber = n
	}

	if !nodeIDPattern.MatchString(c.NodeID) {
		bad("node-id", "%q is not 1 to 32 lower-case letters, digits or -", c.NodeID)
	}
	if raw["nodes"] != "" {
		if c.SupervisingNumber == "" {
			bad("nodes", "several nodes need supervising-number too: each node has its own")
		}
		nodes, more := parseNodes(raw["nodes"], c, region)
		c.ExtraNodes = nodes
		problems = append(problems, more...)
	}

	switch c.Push {
	case PushLog, PushOff:
	case PushFCM:
		if c.FCMCredentials == "" {
			bad("push", "fcm needs fcm-credentials")
		}
		if c.FCMProject == "" {
			bad("push", "fcm needs fcm-project")
		}
	default:
		bad("push", "%q is not one of fcm, log, off", c.Push)
	}
	if c.FCMEndpoint != "" && !isHTTPURL(c.FCMEndpoint) {
		bad("fcm-endpoint", "%q is not an http(s) URL", redactURL(c.FCMEndpoint))
	}
	if s := c.WebPushSubject; !(strings.HasPrefix(s, "mailto:") && len(s) > len("mailto:")) && !(strings.HasPrefix(s, "https://") && isHTTPURL(s)) {
		bad("webpush-subject", "%q is not a mailto: or https: URL", s)
	}
	if n, err := strconv.Atoi(raw["push-queue"]); err != nil || n < 1 || n > 1_000_000 {
		bad("push-queue", "%q is not a number from 1 to 1000000", raw["push-queue"])
	} else {
		c.PushQueue = n
	}
	if n, err := strconv.Atoi(raw["push-attempts"]); err != nil || n < 1 || n > 20 {
		bad("push-attempts", "%q is not a number from 1 to 20", raw["push-attempts"])
	} else {
		c.PushAttempts = n
	}
	if d, err := time.ParseDuration(raw["push-timeout"]); err != nil || d < 100*time.Millisecond || d > 5*time.Minute {
		bad("push-timeout", "%q is not a duration from 100ms to 5m", raw["push-timeout"])
	} else {
		c.PushTimeout = d
	}

	if err := c.LogLevel.UnmarshalText([]byte(raw["log-level"])); err != nil {
		bad("log-level", "%q is not one of debug, info, warn, error", raw["log-level"])
	}
	if !slices.Contains([]string{"text", "json"}, c.LogFormat) {
		bad("log-format", "%q is not one of text, json", c.LogFormat)
	}

	if d, err := time.ParseDuration(raw["offer-ttl"]); err != nil || d < time.Second {
		bad("offer-ttl", "%q is not a duration of at least 1s (e.g. 2m)", raw["offer-ttl"])
	} else {
		c.OfferTTL = d
	}
	if d, err := time.ParseDuration(raw["token-ttl"]); err != nil || d < time.Minute || d > 7*24*time.Hour {
		bad("token-ttl", "%q is not a duration from 1m to 168h (e.g. 8h)", raw["token-ttl"])
	} else {
		c.TokenTTL = d
	}
	if !slices.Contains([]string{"off", "connect", "every"}, c.AgentTone) {
		bad("agent-tone", "%q is not one of off, connect, every", c.AgentTone)
	}
	if c.DTMFModes, err = strconv.ParseBool(raw["dtmf-modes"]); err != nil {
		bad("dtmf-modes", "%q is not true or false", raw["dtmf-modes"])
	}
	if !validDTMFKeys(c.DTMFKeys) {
		bad("dtmf-keys", "%q is not three different DTMF keys (0-9 * # A-D) for listen, whisper and barge", c.DTMFKeys)
	}
	if c.OfferCodes, err = strconv.ParseBool(raw["offer-codes"]); err != nil {
		bad("offer-codes", "%q is not true or false", raw["offer-codes"])
	}
	return c, problems
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func isHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	return err == nil && !strings.ContainsAny(host, " /") && isPort(port)
}

// adminTokenProblem says what is wrong with an admin token, "" for
// nothing. None at all is allowed: it turns the operator routes off.
func adminTokenProblem(tok string) string {
	if tok == "" {
		return ""
	}
	for _, r := range tok {
		// It travels in an Authorization header, which trims spaces:
		// a token with one could never match.
		if r <= ' ' || r > '~' {
			return "has a space, a control or a non-ASCII character; use visible ASCII only (e.g. `openssl rand -hex 32`)"
		}
	}
	if n := len(tok); n < MinAdminTokenLen {
		return fmt.Sprintf("is %d characters long; it must have at least %d, since it opens every operator route "+
			"(users, pools, backups of the whole store); make one with `openssl rand -hex 32`", n, MinAdminTokenLen)
	}
	return ""
}

// Warnings lists settings that are valid but probably not what a site
// wants: `config check` prints them, and serving logs them.
func (c *Config) Warnings() []string {
	var w []string
	if c.SupervisingNumber == "" {
		w = append(w, "supervising-number is not set: earshot refuses to serve without it (backup and directory import work)")
	}
	if c.ARIPassword == "" {
		w = append(w, "ari-password is not set: Asterisk will refuse earshot's ARI user")
	}
	if c.AdminToken == "" {
		msg := "admin-token is not set: the operator routes (/api/v1/admin/...) answer 404, and backup and directory import cannot go through a running earshot"
		if c.MetricsAddr == "" && c.MetricsAuth {
			msg += "; /metrics is not served either (set admin-token, metrics-addr, or metrics-auth: false)"
		}
		w = append(w, msg)
	}
	return w
}

func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535
}

func validDTMFKeys(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if !strings.ContainsRune("0123456789*#ABCD", rune(s[i])) || strings.IndexByte(s, s[i]) != i {
			return false
		}
	}
	return true
}

// redactURL hides a password in a URL's user info ("http://u:xxxxx@h").
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}

// ARIBase returns ARI's base URL, ending in "/ari" without a trailing
// slash: Earshot appends /ari to Asterisk's HTTP base, and also accepts a
// URL that already ends in /ari or /ari/.
func (c *Config) ARIBase() string { return ariBase(c.ARIURL) }

func ariBase(url string) string {
	u := strings.TrimRight(url, "/")
	if strings.HasSuffix(u, "/ari") {
		return u
	}
	return u + "/ari"
}

// Redacted returns every setting by name as text for logs and `config
// check`, with secrets shown as "***" (or "" when unset, so a missing
// secret still shows) and passwords in URLs masked. Secrets never appear
// in logs.
func (c *Config) Redacted() map[string]string {
	secret := func(s string) string {
		if s == "" {
			return ""
		}
		return "***"
	}
	return map[string]string{
		"config":             c.ConfigFile,
		"ari-url":            redactURL(c.ARIURL),
		"ari-user":           c.ARIUser,
		"ari-password":       secret(c.ARIPassword),
		"ari-app":            c.ARIApp,
		"node-id":            c.NodeID,
		"nodes":              redactedNodes(c.ExtraNodes),
		"http-addr":          c.HTTPAddr,
		"tls-cert":           c.TLSCert,
		"tls-key":            c.TLSKey,
		"trusted-proxies":    proxiesString(c.TrustedProxies),
		"metrics-addr":       c.MetricsAddr,
		"metrics-auth":       strconv.FormatBool(c.MetricsAuth),
		"db":                 c.DB,
		"directory":          c.Directory,
		"admin-token":        secret(c.AdminToken),
		"supervising-number": c.SupervisingNumber,
		"default-region":     c.DefaultRegion,
		"push":               c.Push,
		"fcm-credentials":    c.FCMCredentials,
		"fcm-project":        c.FCMProject,
		"fcm-endpoint":       redactURL(c.FCMEndpoint),
		"push-queue":         strconv.Itoa(c.PushQueue),
		"push-attempts":      strconv.Itoa(c.PushAttempts),
		"push-timeout":       c.PushTimeout.String(),
		"webpush-subject":    c.WebPushSubject,
		"log-level":          strings.ToLower(c.LogLevel.String()),
		"log-format":         c.LogFormat,
		"offer-ttl":          c.OfferTTL.String(),
		"token-ttl":          c.TokenTTL.String(),
		"agent-tone":         c.AgentTone,
		"dtmf-modes":         strconv.FormatBool(c.DTMFModes),
		"dtmf-keys":          c.DTMFKeys,
		"offer-codes":        strconv.FormatBool(c.OfferCodes),
	}
}

// LogValue logs the configuration as its redacted settings, so
// slog.Any("config", cfg) cannot leak a secret.
func (c *Config) LogValue() slog.Value {
	r := c.Redacted()
	attrs := make([]slog.Attr, 0, len(r))
	for _, name := range append([]string{"config"}, settingNames()...) {
		attrs = append(attrs, slog.String(name, r[name]))
	}
	return slog.GroupValue(attrs...)
}

// String shows the redacted settings, so printing a Config with %v
// cannot leak a secret either.
func (c *Config) String() string {
	r := c.Redacted()
	var b strings.Builder
	for i, name := range settingNames() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%q", name, r[name])
	}
	return b.String()
}

func settingNames() []string {
	names := make([]string, len(settings))
	for i, s := range settings {
		names[i] = s.name
	}
	return names
}

// maxProxies bounds trusted-proxies: a site has a handful of proxies.
const maxProxies = 64

// parseProxies reads trusted-proxies: comma-separated IP addresses (one
// host each) or CIDR ranges.
func parseProxies(v string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for f := range strings.SplitSeq(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if len(out) == maxProxies {
			return nil, fmt.Errorf("more than %d entries", maxProxies)
		}
		if ip := net.ParseIP(f); ip != nil {
			bits := 8 * len(ip)
			if ip4 := ip.To4(); ip4 != nil {
				ip, bits = ip4, 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(f)
		if err != nil {
			return nil, fmt.Errorf("%.64q is not an IP address or CIDR range (e.g. 127.0.0.1 or 10.0.0.0/8)", f)
		}
		if ones, _ := n.Mask.Size(); ones == 0 {
			return nil, fmt.Errorf("%q trusts every address: anyone could pick the address sign-in limits count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// proxiesString writes trusted-proxies back as parseProxies reads it.
func proxiesString(ps []*net.IPNet) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return strings.Join(out, ",")
}
