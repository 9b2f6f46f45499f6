package dooray

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config configures a Client. Only BaseURL and Token are required.
type Config struct {
	// BaseURL is the API host of the cloud (BaseURLCommercial, …) or a test server.
	BaseURL string
	// Token is a personal API token; it acts with the rights of its member.
	Token string
	// HTTPClient carries the requests; nil means a client with a 30 s timeout.
	// Its CheckRedirect is not used: the Client follows redirects itself.
	HTTPClient *http.Client
	// Limiter paces requests; nil sends at once (429s are still retried).
	Limiter Limiter
	// MaxRetries bounds automatic retries of one call (default 3, negative: none).
	MaxRetries int
	// MaxRetryWait is the longest wait the Client sleeps itself before a retry
	// (default 30 s); a longer wait is returned to the caller as RetryAfter.
	MaxRetryWait time.Duration
	// TrustedHosts may receive the token on a redirect, besides the base host and
	// its sibling hosts (api.dooray.com → *.dooray.com, e.g. file-api.dooray.com).
	TrustedHosts []string
	// Logger receives debug lines per request (never the token); nil discards.
	Logger    *slog.Logger
	UserAgent string
	// OnWait, when set, is told of every wait before a request: "pacing" (the
	// Limiter held it back), "throttled" (after a 429) or "backoff" (after a 5xx
	// or network failure). For metrics.
	OnWait func(reason string, d time.Duration)
}

// String, Format and LogValue keep the token out of every print of a Config.
func (c Config) String() string {
	return fmt.Sprintf("dooray.Config{BaseURL:%q Token:%s}", c.BaseURL, redactedMark(c.Token))
}

func (c Config) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", c.BaseURL), slog.String("token", redactedMark(c.Token)))
}

func redactedMark(token string) string {
	if token == "" {
		return "<unset>"
	}
	return "<redacted>"
}

// Client calls the Dooray! API. It is safe for concurrent use.
type Client struct {
	base *url.URL
	// auth is a closure, not a string field, so that even a reflective dump of
	// the struct shows no token.
	auth       func() string
	redact     func(string) string
	limitKey   string
	hc         *http.Client
	limiter    Limiter
	maxRetries int
	maxWait    time.Duration
	trusted    []string
	log        *slog.Logger
	userAgent  string
	onWait     func(reason string, d time.Duration)
}

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	base, err := url.Parse(strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, &APIError{Message: fmt.Sprintf("base URL %q is not an http(s) URL", cfg.BaseURL)}
	}
	token := strings.TrimSpace(cfg.Token)
	if token == "" {
		return nil, &APIError{Message: "no API token configured"}
	}
	if strings.ContainsAny(token, " \t\r\n") {
		return nil, &APIError{Message: "API token contains whitespace"}
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	// A copy, so the caller's client keeps its own redirect policy.
	own := *hc
	own.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	c := &Client{
		base:       base,
		hc:         &own,
		limiter:    cfg.Limiter,
		maxRetries: cfg.MaxRetries,
		maxWait:    cfg.MaxRetryWait,
		log:        cfg.Logger,
		onWait:     cfg.OnWait,
		userAgent:  cfg.UserAgent,
	}
	header := "dooray-api " + token
	c.auth = func() string { return header }
	c.redact = func(s string) string { return strings.ReplaceAll(s, token, "<redacted>") }
	sum := sha256.Sum256([]byte(base.Host + "\x00" + token))
	c.limitKey = hex.EncodeToString(sum[:12])
	switch {
	case c.maxRetries == 0:
		c.maxRetries = 3
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.maxWait <= 0 {
		c.maxWait = 30 * time.Second
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.userAgent == "" {
		c.userAgent = "contiple-worker-dooray"
	}
	c.trusted = append(c.trusted, strings.ToLower(base.Hostname()))
	// Siblings share the parent domain (file-api.dooray.com for api.dooray.com);
	// an IP address or a two-label host has none.
	host := strings.ToLower(base.Hostname())
	if i := strings.IndexByte(host, '.'); i > 0 && net.ParseIP(host) == nil && strings.Count(host[i+1:], ".") >= 1 {
		c.trusted = append(c.trusted, host[i:])
	}
	for _, h := range cfg.TrustedHosts {
		c.trusted = append(c.trusted, strings.ToLower(strings.TrimSpace(h)))
	}
	return c, nil
}

// String and Format describe the client without its token.
func (c *Client) String() string { return "dooray.Client{BaseURL:" + c.base.String() + "}" }

func (c *Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// RateLimitKey is the key the Client paces under: a hash of host and token.
func (c *Client) RateLimitKey() string { return c.limitKey }

// trustedHost says whether the token may follow a redirect to u. Only sibling
// hosts of the API qualify, so a stray Location cannot harvest the token.
func (c *Client) trustedHost(u *url.URL) bool {
	if u.Scheme != "https" && !(u.Scheme == "http" && c.base.Scheme == "http") {
		return false
	}
	h := strings.ToLower(u.Hostname())
	for _, t := range c.trusted {
		if h == t || (strings.HasPrefix(t, ".") && strings.HasSuffix(h, t)) {
			return true
		}
	}
	return false
}

// invalid is the error of a call refused before sending.
func invalid(method, path, msg string) error {
	return &APIError{Method: method, Path: path, Message: msg}
}

var errNoLocation = errors.New("redirect without a usable Location")
