package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Redactor strips secrets from text on its way out (logs, the one line of a
// failed command, a panic's message): the values of every secret the
// configuration names, the passwords of the database and Redis URLs, and the
// password of any URL written with one (scheme://user:password@host), known
// or not. The zero value is ready; a nil *Redactor changes nothing.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
}

// minSecret is the shortest value redacted: shorter ones would blank out
// ordinary words (and are no secret worth the name).
const minSecret = 4

// Add registers secret values.
func (r *Redactor) Add(values ...string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		if len(v) >= minSecret && !slices.Contains(r.secrets, v) {
			r.secrets = append(r.secrets, v)
		}
	}
}

// AddURL registers the password of a URL (CONTIPLE_DATABASE_URL,
// CONTIPLE_REDIS_URL), also percent-decoded; a URL that does not parse is
// still covered by Redact's pattern.
func (r *Redactor) AddURL(raw string) {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			r.Add(p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	for _, kv := range strings.Fields(raw) { // key=value connection strings
		if v, ok := strings.CutPrefix(kv, "password="); ok {
			r.Add(strings.Trim(v, "'"))
		}
	}
}

// AddConfig registers the value of every secret c names: each *_env
// variable and each *_file (templates aside), read the way Secret reads them.
func (r *Redactor) AddConfig(c *Config) {
	if r == nil || c == nil {
		return
	}
	walkSecrets(reflect.ValueOf(c).Elem(), func(env, file string) {
		if v, err := Secret(env, file); err == nil {
			r.Add(v)
		}
	})
}

// userinfo is the password part of a URL's user information.
var userinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^/:@\s"'` + "`" + `]*:)([^@\s"'` + "`" + `]+)@`)

// Redact returns s with every known secret and every URL password replaced.
func (r *Redactor) Redact(s string) string {
	s = userinfo.ReplaceAllString(s, "${1}xxxxx@")
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, v := range r.secrets {
		s = strings.ReplaceAll(s, v, "[redacted]")
	}
	return s
}

// ReplaceAttr is a slog.HandlerOptions.ReplaceAttr that redacts the message
// and every attribute, errors and other values included.
func (r *Redactor) ReplaceAttr(_ []string, a slog.Attr) slog.Attr {
	var s string
	switch a.Value.Kind() {
	case slog.KindString:
		s = a.Value.String()
	case slog.KindAny:
		s = fmt.Sprint(a.Value.Any())
	default:
		return a
	}
	if red := r.Redact(s); red != s {
		return slog.String(a.Key, red)
	}
	return a
}

// walkSecrets calls fn with the name of each secret in v: the string fields
// whose YAML keys end in _env or _file (how the configuration names secrets).
func walkSecrets(v reflect.Value, fn func(env, file string)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkSecrets(v.Elem(), fn)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkSecrets(v.Index(i), fn)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[Template]() { // text_file, html_file: mail forms, not secrets
			return
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if f.Type.Kind() == reflect.String {
				switch name := v.Field(i).String(); {
				case name == "":
				case strings.HasSuffix(tag, "_env"):
					fn(name, "")
				case strings.HasSuffix(tag, "_file"):
					fn("", name)
				}
				continue
			}
			walkSecrets(v.Field(i), fn)
		}
	}
}

// Environment variables whose URLs carry passwords.
var urlEnv = []string{"CONTIPLE_DATABASE_URL", "CONTIPLE_REDIS_URL"}

// AddEnvironment registers the secrets of the environment: the URLs'
// passwords and CONTIPLE_MASK_KEY.
func (r *Redactor) AddEnvironment() {
	for _, name := range urlEnv {
		r.AddURL(os.Getenv(name))
	}
	r.Add(strings.TrimSpace(os.Getenv("CONTIPLE_MASK_KEY")))
}
