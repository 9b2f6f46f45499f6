package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Dooray is the `dooray:` section: the Dooray! organisations the worker talks
// to. The old single block (base_url, token_env, token_file, bot_member_id)
// still works and is read as one organisation, DefaultOrganization; `config
// check` says how to move it into organizations.
type Dooray struct {
	BaseURL     string `yaml:"base_url"`
	TokenEnv    string `yaml:"token_env"`
	TokenFile   string `yaml:"token_file"`
	BotMemberID string `yaml:"bot_member_id"`
	// SyncInterval is every organisation's poll interval unless it sets its own.
	SyncInterval  Duration             `yaml:"sync_interval"`
	Organizations []DoorayOrganization `yaml:"organizations"`
	// MailDomains are the domains Dooray! mails from; such mail counts as
	// Dooray!'s only with a valid DKIM signature of the domain. nil: dooray.com,
	// gov-dooray.com, dooray.co.kr.
	MailDomains []string `yaml:"mail_domains"`
}

// DoorayOrganization is one Dooray! organisation: its API host (one per
// cloud), its token, its bot member, its rate limit and poll interval, and the
// token of its webhook URL (/webhooks/dooray/KEY/TOKEN).
type DoorayOrganization struct {
	Key         string `yaml:"key"` // links record it: never rename an organisation in use
	BaseURL     string `yaml:"base_url"`
	TokenEnv    string `yaml:"token_env"`
	TokenFile   string `yaml:"token_file"`
	BotMemberID string `yaml:"bot_member_id"`
	// RatePerSecond and Burst cap our requests to this organisation, shared by
	// every worker process; 0 learns the bucket from Dooray!'s X-RateLimit-*
	// headers (starting at 1 a second).
	RatePerSecond   float64  `yaml:"rate_per_second"`
	Burst           int      `yaml:"burst"`
	SyncInterval    Duration `yaml:"sync_interval"`
	WebhookTokenEnv string   `yaml:"webhook_token_env"`
}

// DefaultOrganization is the key of the old single `dooray:` block, and of
// every link made before organisations (ticket.DoorayDefaultOrganization).
const DefaultOrganization = "default"

// ServiceDooray is a service's Dooray! transfer: the switch, the default
// organisation and project, and where else it may transfer.
type ServiceDooray struct {
	// Enabled is the service's switch (default on). Off refuses escalations;
	// the service's open escalations keep syncing.
	Enabled      *bool  `yaml:"enabled"`
	Organization string `yaml:"organization"` // default: the only (or the default) organisation
	ProjectID    string `yaml:"project_id"`   // the default project
	// Projects are the projects of the default organisation escalations may
	// go to (project_id always may); empty: any.
	Projects      []string                    `yaml:"projects"`
	ToMemberIDs   []string                    `yaml:"to_member_ids"`
	ToEmails      []string                    `yaml:"to_emails"` // email users, when the assignees are not members
	Organizations []ServiceDoorayOrganization `yaml:"organizations"`
}

// ServiceDoorayOrganization is a further organisation a service may transfer to.
type ServiceDoorayOrganization struct {
	Key         string   `yaml:"key"`
	Projects    []string `yaml:"projects"` // allowed, the first the default; empty: any (then the operator names one)
	ToMemberIDs []string `yaml:"to_member_ids"`
	ToEmails    []string `yaml:"to_emails"`
}

// DoorayOrganizations is every configured organisation, the old single block
// as DefaultOrganization, each with its defaults filled in: the sync interval
// of dooray.sync_interval, and for the default organisation the webhook token
// of http.webhook_token_env.
func (c *Config) DoorayOrganizations() []DoorayOrganization {
	orgs := slices.Clone(c.Dooray.Organizations)
	if len(orgs) == 0 && c.Dooray.BaseURL != "" {
		orgs = []DoorayOrganization{{Key: DefaultOrganization, BaseURL: c.Dooray.BaseURL, TokenEnv: c.Dooray.TokenEnv,
			TokenFile: c.Dooray.TokenFile, BotMemberID: c.Dooray.BotMemberID}}
	}
	for i := range orgs {
		if orgs[i].SyncInterval == 0 {
			orgs[i].SyncInterval = c.Dooray.SyncInterval
		}
		if orgs[i].WebhookTokenEnv == "" && orgs[i].Key == c.defaultDoorayOrganization() {
			orgs[i].WebhookTokenEnv = c.HTTP.WebhookTokenEnv
		}
	}
	return orgs
}

// defaultDoorayOrganization is the organisation a service uses unless it names
// one: the only one configured, else DefaultOrganization.
func (c *Config) defaultDoorayOrganization() string {
	if len(c.Dooray.Organizations) == 1 {
		return c.Dooray.Organizations[0].Key
	}
	return DefaultOrganization
}

// ServiceDoorayOrganization is the default organisation of service s.
func (c *Config) ServiceDoorayOrganization(s Service) string {
	if s.Dooray.Organization != "" {
		return s.Dooray.Organization
	}
	return c.defaultDoorayOrganization()
}

// Notices are things that work but should change: today, the old single
// `dooray:` block, and how to move it.
func (c *Config) Notices() []string {
	if c.Dooray.BaseURL == "" || len(c.Dooray.Organizations) > 0 {
		return nil
	}
	token := "token_env: " + c.Dooray.TokenEnv
	if c.Dooray.TokenFile != "" {
		token = "token_file: " + c.Dooray.TokenFile
	}
	return []string{fmt.Sprintf("dooray: the single dooray block is read as organisation %q. To move it, write\n"+
		"  dooray:\n    sync_interval: %s\n    organizations:\n      - key: %s   # keep this key: existing links name it\n"+
		"        base_url: %s\n        %s\n        bot_member_id: %q\n"+
		"and drop dooray.base_url, token_env, token_file and bot_member_id. Its webhook URL stays /webhooks/dooray/TOKEN "+
		"and also answers as /webhooks/dooray/%s/TOKEN.",
		DefaultOrganization, c.Dooray.SyncInterval.Std(), DefaultOrganization, c.Dooray.BaseURL, token, c.Dooray.BotMemberID, DefaultOrganization)}
}

func (c *Config) validateDooray(v *validator) {
	d := c.Dooray
	if d.BaseURL != "" {
		v.httpURL("dooray.base_url", d.BaseURL)
		if d.TokenEnv == "" && d.TokenFile == "" {
			v.add("dooray.token_env", "is required when dooray.base_url is set")
		}
		if len(d.Organizations) > 0 {
			v.add("dooray.base_url", "give either the single dooray block or dooray.organizations, not both")
		}
	}
	v.secret("dooray.token", d.TokenEnv, d.TokenFile)
	if d.SyncInterval.Std() < time.Second {
		v.add("dooray.sync_interval", "must be at least 1s")
	}
	keys := map[string]bool{}
	for i, o := range d.Organizations {
		p := fmt.Sprintf("dooray.organizations[%d]", i)
		v.key(p+".key", o.Key, keys)
		if o.BaseURL == "" {
			v.add(p+".base_url", "is required (https://api.dooray.com, https://api.gov-dooray.com, https://api.gov-dooray.co.kr, https://api.dooray.co.kr)")
		} else {
			v.httpURL(p+".base_url", o.BaseURL)
		}
		if o.TokenEnv == "" && o.TokenFile == "" {
			v.add(p+".token_env", "is required (or token_file)")
		}
		v.secret(p+".token", o.TokenEnv, o.TokenFile)
		v.env(p+".webhook_token_env", o.WebhookTokenEnv)
		if o.RatePerSecond < 0 {
			v.add(p+".rate_per_second", "must be 0 (learn from Dooray!'s headers) or more")
		}
		if o.Burst < 0 {
			v.add(p+".burst", "must be 0 or more")
		}
		if o.SyncInterval != 0 && o.SyncInterval.Std() < time.Second {
			v.add(p+".sync_interval", "must be at least 1s")
		}
	}
}

func (c *Config) validateServiceDooray(v *validator, p string, s ServiceDooray) {
	orgs := map[string]bool{}
	for _, o := range c.DoorayOrganizations() {
		orgs[o.Key] = true
	}
	if len(orgs) == 0 {
		if s.ProjectID != "" || s.Organization != "" || len(s.Organizations) > 0 {
			v.add(p, "set, but no Dooray! organisation is configured (dooray.organizations or dooray.base_url)")
		}
		return
	}
	known := func(path, key string) {
		if !orgs[key] {
			v.add(path, "%q is not one of dooray.organizations", key)
		}
	}
	def := s.Organization
	if def == "" {
		def = c.defaultDoorayOrganization()
	}
	if s.Organization != "" {
		known(p+".organization", s.Organization)
	}
	for i, o := range s.Organizations {
		op := fmt.Sprintf("%s.organizations[%d]", p, i)
		known(op+".key", o.Key)
		if o.Key == def {
			v.add(op+".key", "%q is the service's default organisation: its projects and assignees are dooray.projects and to_member_ids", o.Key)
		}
		for j, pr := range o.Projects {
			if strings.TrimSpace(pr) == "" {
				v.add(fmt.Sprintf("%s.projects[%d]", op, j), "is empty")
			}
		}
	}
}

func (v *validator) httpURL(path, s string) {
	if u, err := url.Parse(s); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.add(path, "%q is not an http(s) URL", s)
	}
}
