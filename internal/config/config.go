// Package config reads and checks the worker's YAML configuration: services and
// their mailboxes, SMTP, Dooray!, templates, forbidden words and triggers.
// Secrets appear only as names of environment variables or files.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole file. DESIGN.md's "Configuration file" is its contract;
// config.example.yaml documents every key.
type Config struct {
	HTTP     HTTP      `yaml:"http"`
	SMTP     SMTP      `yaml:"smtp"`
	Dooray   Dooray    `yaml:"dooray"`
	Mail     Mail      `yaml:"mail"`
	Services []Service `yaml:"services"`
}

type HTTP struct {
	Addr                 string     `yaml:"addr"`
	DashboardPasswordEnv string     `yaml:"dashboard_password_env"` // /monitoring/ (user "admin")
	APITokenEnv          string     `yaml:"api_token_env"`          // /api/v1: one administrator token named "api" (before api_tokens)
	APITokens            []APIToken `yaml:"api_tokens"`             // /api/v1 bearer tokens, each with a name and a role
	WebhookTokenEnv      string     `yaml:"webhook_token_env"`      // webhook token of the Dooray! organisation "default" (or the only one)
}

// APIToken is one bearer token of /api/v1. Its name is the actor of every
// event the token causes; its role says what it may do.
type APIToken struct {
	Name      string `yaml:"name"`
	Role      string `yaml:"role"` // operator | administrator
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
}

// LegacyAPITokenName is the name of the token api_token_env names: it acts as
// an administrator, as the one shared token always could.
const LegacyAPITokenName = "api"

type SMTP struct {
	Host             string   `yaml:"host"`
	Port             int      `yaml:"port"`
	TLS              string   `yaml:"tls"` // none | starttls | tls
	Username         string   `yaml:"username"`
	PasswordEnv      string   `yaml:"password_env"`
	PasswordFile     string   `yaml:"password_file"`
	RatePerMinute    int      `yaml:"rate_per_minute"`    // 0 = no limit; shared by all workers
	RecipientPerHour int      `yaml:"recipient_per_hour"` // cap of mails to one address; 0 = 10; more wait for the next hour
	MaxConnections   int      `yaml:"max_connections"`    // SMTP sessions open at once per process; 0 = 4
	SuppressFor      Duration `yaml:"suppress_for"`       // a hard bounce stops mail to the address this long; 0 = 168h
	Timeout          Duration `yaml:"timeout"`            // per SMTP session; 0 = 30s
	AllowInsecure    bool     `yaml:"allow_insecure"`     // credentials in clear (tls: none) to a host not on loopback
	OAuth2           *OAuth2  `yaml:"oauth2"`             // log username in with a token instead of a password
}

// Mail holds intake settings shared by every mailbox.
type Mail struct {
	MaxMessageBytes    int64 `yaml:"max_message_bytes"`    // larger mail is quarantined; 0 = 25 MiB
	MaxAttachmentBytes int64 `yaml:"max_attachment_bytes"` // larger parts are dropped; 0 = 20 MiB
	// RawRetention is how long the raw mail of processed mail is kept; 0 = for ever.
	RawRetention Duration `yaml:"raw_retention"`
	// MemoryBudget is the bytes of mail one process reads and parses at once;
	// more waits. 0 = 32 MiB. The Go heap limit follows it (see serve).
	MemoryBudget int64 `yaml:"memory_budget"`
}

type Service struct {
	Key            string             `yaml:"key"`
	Name           string             `yaml:"name"`
	Address        string             `yaml:"address"`
	Locale         string             `yaml:"locale"`
	Mailbox        *Mailbox           `yaml:"mailbox"`
	Dooray         ServiceDooray      `yaml:"dooray"`
	Templates      map[string]Locales `yaml:"templates"` // kind (resolve, hold) → locale → template
	ForbiddenWords []string           `yaml:"forbidden_words"`
	Triggers       []Trigger          `yaml:"triggers"`
	Spam           Spam               `yaml:"spam"`
}

// Spam is a service's own spam verdict header: mail whose header carries a
// score at or above the threshold goes to the spam box. X-Spam-Flag: YES and
// X-Spam-Status: Yes count without it.
type Spam struct {
	Header    string  `yaml:"header"`    // e.g. X-Spam-Score; "" = the standard flags only
	Threshold float64 `yaml:"threshold"` // e.g. 5
}

type Mailbox struct {
	Host         string   `yaml:"host"`
	Port         int      `yaml:"port"`
	TLS          string   `yaml:"tls"` // none | starttls | tls
	Username     string   `yaml:"username"`
	PasswordEnv  string   `yaml:"password_env"`
	PasswordFile string   `yaml:"password_file"`
	Folder       string   `yaml:"folder"`
	After        string   `yaml:"after"` // seen | move:FOLDER | delete
	IDLE         bool     `yaml:"idle"`
	PollInterval Duration `yaml:"poll_interval"`
	// AllowInsecure permits the password in clear (tls: none) to a host that
	// is not on loopback.
	AllowInsecure bool    `yaml:"allow_insecure"`
	OAuth2        *OAuth2 `yaml:"oauth2"` // log username in with a token instead of a password
}

// OAuth2 is how a mailbox or the SMTP account gets its access tokens
// (XOAUTH2/OAUTHBEARER). Secrets only by *_env or *_file.
type OAuth2 struct {
	Provider              string   `yaml:"provider"`  // microsoft | google | generic
	Grant                 string   `yaml:"grant"`     // client_credentials | refresh_token | jwt (per provider)
	TenantID              string   `yaml:"tenant_id"` // microsoft
	ClientID              string   `yaml:"client_id"`
	ClientSecretEnv       string   `yaml:"client_secret_env"`
	ClientSecretFile      string   `yaml:"client_secret_file"`
	Scopes                []string `yaml:"scopes"`    // empty: the provider's default
	TokenURL              string   `yaml:"token_url"` // generic (required); others: an override
	AuthURL               string   `yaml:"auth_url"`
	DeviceAuthURL         string   `yaml:"device_auth_url"`
	ServiceAccountKeyEnv  string   `yaml:"service_account_key_env"` // google jwt: the JSON key
	ServiceAccountKeyFile string   `yaml:"service_account_key_file"`
	Subject               string   `yaml:"subject"`             // google jwt: the mailbox to act as; default: username
	RefreshTokenStore     string   `yaml:"refresh_token_store"` // refresh_token: file (default) | database (sealed with CONTIPLE_MASK_KEY)
	RefreshTokenFile      string   `yaml:"refresh_token_file"`  // refresh_token with store file: where `mailbox authorize` keeps it
}

// Where a refresh token is kept (OAuth2.RefreshTokenStore).
const (
	RefreshInFile     = "file"
	RefreshInDatabase = "database"
)

// Locales maps a locale (ja, ko, en …) to a template.
type Locales map[string]Template

// Template is one mail form. Each part is inline or read from a file.
type Template struct {
	Subject  string `yaml:"subject"`
	Text     string `yaml:"text"`
	TextFile string `yaml:"text_file"`
	HTML     string `yaml:"html"`
	HTMLFile string `yaml:"html_file"`
}

// Trigger is an ordered rule applied when a ticket is created (seed 4-3):
// all conditions given must hold, then the actions apply.
type Trigger struct {
	Name string         `yaml:"name"`
	When TriggerWhen    `yaml:"when"`
	Then TriggerActions `yaml:"then"`
}

type TriggerWhen struct {
	FromAddresses   []string `yaml:"from_addresses"`
	FromDomains     []string `yaml:"from_domains"`
	SubjectContains []string `yaml:"subject_contains"`
	BodyContains    []string `yaml:"body_contains"`
	Channels        []string `yaml:"channels"`
}

type TriggerActions struct {
	AssignTo       string   `yaml:"assign_to"`       // a named operator
	AssignRandom   []string `yaml:"assign_random"`   // one of these, at random
	AssignSequence []string `yaml:"assign_sequence"` // these in turn (round robin)
	Group          string   `yaml:"group"`
	Priority       string   `yaml:"priority"`
}

// Duration is a time.Duration written as "30s", "5m".
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like 30s or 5m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) Std() time.Duration { return time.Duration(d) }

// Load reads and parses the file, then checks it. The error lists every problem.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data)
}

// Parse parses and checks a configuration.
func Parse(data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	problems := unknownKeys(&root)
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var te *yaml.TypeError
	switch err := dec.Decode(&c); {
	case errors.As(err, &te):
		for _, msg := range te.Errors {
			problems = append(problems, Problem{Path: "(file)", Msg: msg})
		}
	case err != nil && !errors.Is(err, io.EOF): // an empty file is the zero Config
		return nil, fmt.Errorf("config: %w", err)
	}
	c.applyDefaults()
	problems = append(problems, c.Validate()...)
	if len(problems) > 0 {
		return &c, Problems(problems)
	}
	return &c, nil
}

func (c *Config) applyDefaults() {
	if c.HTTP.Addr == "" {
		c.HTTP.Addr = "127.0.0.1:8080"
	}
	if c.SMTP.TLS == "" {
		c.SMTP.TLS = "none"
	}
	if c.SMTP.Timeout == 0 {
		c.SMTP.Timeout = Duration(30 * time.Second)
	}
	if c.SMTP.RecipientPerHour == 0 {
		c.SMTP.RecipientPerHour = 10
	}
	if o := c.SMTP.OAuth2; o != nil {
		o.applyDefaults(c.SMTP.Username)
	}
	if c.Dooray.SyncInterval == 0 {
		c.Dooray.SyncInterval = Duration(30 * time.Second)
	}
	if c.Mail.MaxMessageBytes == 0 {
		c.Mail.MaxMessageBytes = 25 << 20
	}
	if c.Mail.MaxAttachmentBytes == 0 {
		c.Mail.MaxAttachmentBytes = 20 << 20
	}
	if c.Mail.MemoryBudget == 0 {
		c.Mail.MemoryBudget = 32 << 20
	}
	for i := range c.Services {
		s := &c.Services[i]
		if s.Locale == "" {
			s.Locale = "ja"
		}
		if m := s.Mailbox; m != nil {
			if m.TLS == "" {
				m.TLS = "tls"
			}
			if m.Folder == "" {
				m.Folder = "INBOX"
			}
			if m.After == "" {
				m.After = "seen"
			}
			if m.PollInterval == 0 {
				m.PollInterval = Duration(30 * time.Second)
			}
			if o := m.OAuth2; o != nil {
				o.applyDefaults(m.Username)
			}
		}
	}
}

func (o *OAuth2) applyDefaults(username string) {
	if o.Subject == "" {
		o.Subject = username
	}
	if o.RefreshTokenStore == "" && o.Grant == "refresh_token" {
		o.RefreshTokenStore = RefreshInFile
	}
}

// Problem is one thing wrong with the configuration, at a field path such as
// services[0].mailbox.port.
type Problem struct {
	Path string
	Msg  string
}

func (p Problem) String() string { return p.Path + ": " + p.Msg }

// Problems is every problem found; as an error it lists them one per line.
type Problems []Problem

func (ps Problems) Error() string { return strings.Join(ps.Strings(), "\n") }

// Strings returns the problems as lines.
func (ps Problems) Strings() []string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return lines
}
