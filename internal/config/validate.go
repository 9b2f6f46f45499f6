package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/mail"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/contiple/contiple-worker/mailer"
)

var (
	serviceKey = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)
	envName    = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
	mailDomain = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)
	spamHeader = regexp.MustCompile(`^[!-9;-~]+$`) // RFC 5322 field name: printable ASCII but ':'
	tlsModes   = []string{"none", "starttls", "tls"}
	kinds      = []string{"resolve", "hold"}
	priorities = []string{"low", "normal", "high", "urgent"}
	channels   = []string{"email", "phone", "chat", "helpcenter", "created"}
)

// Validate returns every problem of the configuration, each with its field path.
func (c *Config) Validate() []Problem {
	v := &validator{}
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		v.add("http.addr", "%q is not host:port", c.HTTP.Addr)
	}
	v.env("http.dashboard_password_env", c.HTTP.DashboardPasswordEnv)
	v.env("http.api_token_env", c.HTTP.APITokenEnv)
	v.apiTokens(c.HTTP)
	v.env("http.webhook_token_env", c.HTTP.WebhookTokenEnv)

	if c.SMTP.Host == "" {
		v.add("smtp.host", "is required")
	}
	v.port("smtp.port", c.SMTP.Port)
	v.oneOf("smtp.tls", c.SMTP.TLS, tlsModes)
	v.secret("smtp.password", c.SMTP.PasswordEnv, c.SMTP.PasswordFile)
	if o := c.SMTP.OAuth2; o != nil {
		v.oauth2("smtp", c.SMTP.Username, c.SMTP.PasswordEnv, c.SMTP.PasswordFile, o)
	} else if c.SMTP.Username != "" && c.SMTP.PasswordEnv == "" && c.SMTP.PasswordFile == "" {
		v.add("smtp.password_env", "is required when smtp.username is set")
	}
	if c.SMTP.Username != "" {
		v.clear("smtp", c.SMTP.Host, c.SMTP.TLS, c.SMTP.AllowInsecure)
	}
	if c.SMTP.SuppressFor < 0 {
		v.add("smtp.suppress_for", "must be 0 (the default, 168h) or more")
	}
	if c.SMTP.MaxConnections < 0 {
		v.add("smtp.max_connections", "must be 0 (the default, 4) or more")
	}
	if c.SMTP.RatePerMinute < 0 {
		v.add("smtp.rate_per_minute", "must be 0 (no limit) or more")
	}
	if c.Mail.MemoryBudget < 1<<20 {
		v.add("mail.memory_budget", "must be at least 1 MiB (1048576)")
	}

	if c.Mail.RawRetention < 0 {
		v.add("mail.raw_retention", "must be 0 (keep raw mail) or more")
	}

	c.validateDooray(v)
	for i, d := range c.Dooray.MailDomains {
		if !mailDomain.MatchString(d) {
			v.add(fmt.Sprintf("dooray.mail_domains[%d]", i), "%q is not a lower-case domain name", d)
		}
	}

	if len(c.Services) == 0 {
		v.add("services", "declare at least one service")
	}
	keys := map[string]bool{}
	for i, s := range c.Services {
		p := fmt.Sprintf("services[%d]", i)
		v.key(p+".key", s.Key, keys)
		if s.Name == "" {
			v.add(p+".name", "is required")
		}
		if a, err := mail.ParseAddress(s.Address); err != nil || a.Name != "" {
			v.add(p+".address", "%q is not a plain mail address", s.Address)
		}
		if s.Mailbox != nil {
			v.mailbox(p+".mailbox", s.Mailbox)
		}
		c.validateServiceDooray(v, p+".dooray", s.Dooray)
		for _, kind := range slices.Sorted(maps.Keys(s.Templates)) {
			locales := s.Templates[kind]
			if !slices.Contains(kinds, kind) {
				v.add(p+".templates."+kind, "unknown kind (want resolve or hold)")
			}
			for _, loc := range slices.Sorted(maps.Keys(locales)) {
				t := locales[loc]
				tp := p + ".templates." + kind + "." + loc
				if strings.TrimSpace(t.Subject) == "" {
					v.add(tp+".subject", "is required")
				}
				if (t.Text == "") == (t.TextFile == "") {
					v.add(tp+".text", "give exactly one of text and text_file")
				}
				if t.HTML != "" && t.HTMLFile != "" {
					v.add(tp+".html", "give at most one of html and html_file")
				}
				v.file(tp+".text_file", t.TextFile)
				v.file(tp+".html_file", t.HTMLFile)
				if slices.Contains(kinds, kind) {
					v.template(tp, mailer.Kind(kind), loc, t)
				}
			}
		}
		for j, w := range s.ForbiddenWords {
			if strings.TrimSpace(w) == "" {
				v.add(fmt.Sprintf("%s.forbidden_words[%d]", p, j), "is empty")
			}
		}
		for j, t := range s.Triggers {
			v.trigger(fmt.Sprintf("%s.triggers[%d]", p, j), t)
		}
		if s.Spam.Header == "" && s.Spam.Threshold != 0 {
			v.add(p+".spam.header", "is required with spam.threshold")
		} else if s.Spam.Header != "" && !spamHeader.MatchString(s.Spam.Header) {
			v.add(p+".spam.header", "%q is not a header field name", s.Spam.Header)
		}
	}
	return v.problems
}

type validator struct{ problems []Problem }

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// key checks a lower-case key, unique among seen (which it adds it to).
func (v *validator) key(path, key string, seen map[string]bool) {
	if !serviceKey.MatchString(key) {
		v.add(path, "%q must be lower case letters, digits, - or _, starting with a letter", key)
	} else if seen[key] {
		v.add(path, "%q is declared twice", key)
	}
	seen[key] = true
}

func (v *validator) port(path string, p int) {
	if p < 1 || p > 65535 {
		v.add(path, "%d is not a port (1-65535)", p)
	}
}

func (v *validator) oneOf(path, val string, allowed []string) {
	if !slices.Contains(allowed, val) {
		v.add(path, "%q is not one of %s", val, strings.Join(allowed, ", "))
	}
}

func (v *validator) env(path, name string) {
	if name != "" && !envName.MatchString(name) {
		v.add(path, "%q is not an environment variable name (secrets go in the environment, not in this file)", name)
	}
}

func (v *validator) secret(path, env, file string) {
	v.env(path+"_env", env)
	if env != "" && file != "" {
		v.add(path+"_file", "give at most one of %s_env and %s_file", path, path)
	}
	v.file(path+"_file", file)
}

func (v *validator) file(path, name string) {
	if name == "" {
		return
	}
	if _, err := os.Stat(name); err != nil {
		v.add(path, "%v", err)
	}
}

func (v *validator) mailbox(p string, m *Mailbox) {
	if m.Host == "" {
		v.add(p+".host", "is required")
	}
	v.port(p+".port", m.Port)
	v.oneOf(p+".tls", m.TLS, tlsModes)
	if m.Username == "" {
		v.add(p+".username", "is required")
	}
	if m.OAuth2 != nil {
		v.oauth2(p, m.Username, m.PasswordEnv, m.PasswordFile, m.OAuth2)
	} else if m.PasswordEnv == "" && m.PasswordFile == "" {
		v.add(p+".password_env", "is required (or password_file, or an oauth2 block)")
	}
	v.secret(p+".password", m.PasswordEnv, m.PasswordFile)
	v.clear(p, m.Host, m.TLS, m.AllowInsecure)
	switch {
	case m.After == "seen", m.After == "delete":
	case strings.HasPrefix(m.After, "move:") && len(m.After) > len("move:"):
	default:
		v.add(p+".after", "%q is not seen, delete or move:FOLDER", m.After)
	}
	if m.PollInterval.Std() < 1e9 {
		v.add(p+".poll_interval", "must be at least 1s")
	}
}

// clear refuses a password sent in clear (tls: none) to a host that is not
// on loopback, unless allow_insecure says so: anyone on the path would read it.
func (v *validator) clear(p, host, tls string, allowed bool) {
	if tls != "none" || allowed || loopback(host) {
		return
	}
	v.add(p+".tls", "none sends the password in clear to %s, which is not on loopback: use starttls or tls (or set %s.allow_insecure: true)", host, p)
}

// loopback: localhost, or an IP address of the loopback network.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func (v *validator) trigger(p string, t Trigger) {
	if t.Name == "" {
		v.add(p+".name", "is required (it keys the round-robin position)")
	}
	w := t.When
	if len(w.FromAddresses)+len(w.FromDomains)+len(w.SubjectContains)+len(w.BodyContains)+len(w.Channels) == 0 {
		v.add(p+".when", "has no condition")
	}
	for j, c := range w.Channels {
		v.oneOf(fmt.Sprintf("%s.when.channels[%d]", p, j), c, channels)
	}
	a := t.Then
	n := 0
	for _, set := range []bool{a.AssignTo != "", len(a.AssignRandom) > 0, len(a.AssignSequence) > 0} {
		if set {
			n++
		}
	}
	if n > 1 {
		v.add(p+".then", "give at most one of assign_to, assign_random and assign_sequence")
	}
	if n == 0 && a.Priority == "" {
		v.add(p+".then", "has no action")
	}
	if a.Priority != "" {
		v.oneOf(p+".then.priority", a.Priority, priorities)
	}
}

// template parses a mail form and runs it on empty and filled data, so that a
// template that does not parse or names an unknown field is reported at its
// path (services[i].templates.KIND.LOCALE.subject|text|html). Empty parts and
// unreadable files are reported by the checks above.
func (v *validator) template(p string, kind mailer.Kind, locale string, t Template) {
	src := mailer.Template{Subject: t.Subject, Text: t.Text, HTML: t.HTML}
	if t.TextFile != "" {
		b, err := os.ReadFile(t.TextFile)
		if err != nil {
			return
		}
		src.Text = string(b)
	}
	if t.HTMLFile != "" {
		b, err := os.ReadFile(t.HTMLFile)
		if err != nil {
			return
		}
		src.HTML = string(b)
	}
	err := mailer.Check(kind, locale, src)
	if err == nil {
		return
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var te *mailer.TemplateError
		if !errors.As(e, &te) || errors.Is(te.Err, mailer.ErrEmpty) {
			continue
		}
		v.add(p+"."+te.Part, "%v", te.Err)
	}
}
