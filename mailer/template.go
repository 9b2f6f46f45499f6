package mailer

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"
	"unicode"
)

// Kind is the action a mail answers: resolve or hold.
type Kind string

const (
	KindResolve Kind = "resolve"
	KindHold    Kind = "hold"
)

// Kinds are the kinds a service may have templates for.
var Kinds = []Kind{KindResolve, KindHold}

// ParseKind checks a kind given by a user.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(strings.ToLower(strings.TrimSpace(s))); k {
	case KindResolve, KindHold:
		return k, nil
	}
	return "", fmt.Errorf("%q is not a mail kind (want resolve or hold)", s)
}

// Data is what a template sees. Every field exists for every mail, so a
// template naming anything else is an error found at check time.
type Data struct {
	Ticket   TicketData
	Customer Person
	Note     string // the operator's processing note for this action
	Service  Person // the helpdesk service: its name and support address
	Links    []Link
}

// TicketData is the part of the ticket a mail may show.
type TicketData struct {
	Number   int64
	Marker   string // "[CT-123]": added to the subject when the template leaves it out
	Subject  string
	Status   string
	Priority string
}

// Person is a name and a mail address.
type Person struct {
	Name    string
	Address string
}

// Link is a labelled URL (help centre, survey …).
type Link struct {
	Label string
	URL   string
}

// Template is the source of one mail form. HTML may be empty: the mail is
// then text only.
type Template struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html,omitempty"`
}

// Rendered is a mail's content after its template ran.
type Rendered struct {
	Locale  string `json:"locale"` // the locale of the template used
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html,omitempty"`
}

// TemplateError is a template that does not parse or does not run, with where
// it belongs.
type TemplateError struct {
	Service string // empty when not known (config check reports a path instead)
	Kind    Kind
	Locale  string
	Part    string // subject | text | html
	Err     error
}

func (e *TemplateError) Error() string {
	where := fmt.Sprintf("template %s/%s %s", e.Kind, e.Locale, e.Part)
	if e.Service != "" {
		where = "service " + e.Service + ": " + where
	}
	return where + ": " + e.Err.Error()
}

func (e *TemplateError) Unwrap() error { return e.Err }

// ErrEmpty is a subject or text template with nothing in it.
var ErrEmpty = errors.New("is empty")

// compiled is a parsed template; text parts use text/template, html uses
// html/template so that customer data is escaped.
type compiled struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template // nil: no HTML part
}

func compile(t Template) (*compiled, []partError) {
	var errs []partError
	c := &compiled{}
	var err error
	if c.subject, err = texttemplate.New("subject").Option("missingkey=error").Parse(t.Subject); err != nil {
		errs = append(errs, partError{"subject", err})
	}
	if c.text, err = texttemplate.New("text").Option("missingkey=error").Parse(t.Text); err != nil {
		errs = append(errs, partError{"text", err})
	}
	if strings.TrimSpace(t.HTML) != "" {
		if c.html, err = htmltemplate.New("html").Option("missingkey=error").Parse(t.HTML); err != nil {
			errs = append(errs, partError{"html", err})
		}
	}
	return c, errs
}

type partError struct {
	part string
	err  error
}

// Check parses t and runs it against an empty and a filled Data, so that an
// unknown field is found whichever branch names it. Every problem comes back
// as a *TemplateError (errors.Join of them).
func Check(kind Kind, locale string, t Template) error {
	c, perrs := compile(t)
	if len(perrs) == 0 {
		for _, d := range []Data{{}, sampleData} {
			if _, err := c.execute(d); err != nil {
				var pe partErrorWrap
				if errors.As(err, &pe) {
					perrs = append(perrs, partError{pe.part, pe.err})
				}
				break
			}
		}
	}
	if strings.TrimSpace(t.Subject) == "" {
		perrs = append(perrs, partError{"subject", ErrEmpty})
	}
	if strings.TrimSpace(t.Text) == "" {
		perrs = append(perrs, partError{"text", ErrEmpty})
	}
	var errs []error
	for _, p := range perrs {
		errs = append(errs, &TemplateError{Kind: kind, Locale: locale, Part: p.part, Err: p.err})
	}
	return errors.Join(errs...)
}

// sampleData fills every field, so branches on them run at check time.
var sampleData = Data{
	Ticket:   TicketData{Number: 1, Marker: "[CT-1]", Subject: "subject", Status: "resolved", Priority: "normal"},
	Customer: Person{Name: "name", Address: "customer@example.invalid"},
	Note:     "note",
	Service:  Person{Name: "service", Address: "support@example.invalid"},
	Links:    []Link{{Label: "label", URL: "https://example.invalid/"}},
}

type partErrorWrap struct {
	part string
	err  error
}

func (p partErrorWrap) Error() string { return p.part + ": " + p.err.Error() }
func (p partErrorWrap) Unwrap() error { return p.err }

func (c *compiled) execute(d Data) (Rendered, error) {
	var r Rendered
	var b bytes.Buffer
	if err := c.subject.Execute(&b, d); err != nil {
		return r, partErrorWrap{"subject", err}
	}
	r.Subject = b.String()
	b.Reset()
	if err := c.text.Execute(&b, d); err != nil {
		return r, partErrorWrap{"text", err}
	}
	r.Text = b.String()
	if c.html != nil {
		b.Reset()
		if err := c.html.Execute(&b, d); err != nil {
			return r, partErrorWrap{"html", err}
		}
		r.HTML = b.String()
	}
	return r, nil
}

// Renderer renders mails, keeping each distinct template parsed once. It is
// safe for concurrent use; the zero value is ready.
type Renderer struct {
	cache sync.Map // Template → *compiled
}

// NewRenderer returns an empty Renderer.
func NewRenderer() *Renderer { return &Renderer{} }

// Render runs template t (of kind and locale, for errors) on d. The subject
// becomes one line (CR, LF and other controls folded to spaces) and carries
// the ticket marker; the text ends with exactly one newline.
func (r *Renderer) Render(kind Kind, locale string, t Template, d Data) (Rendered, error) {
	var c *compiled
	if v, ok := r.cache.Load(t); ok {
		c = v.(*compiled)
	} else {
		var perrs []partError
		c, perrs = compile(t)
		if len(perrs) > 0 {
			return Rendered{}, &TemplateError{Kind: kind, Locale: locale, Part: perrs[0].part, Err: perrs[0].err}
		}
		r.cache.Store(t, c)
	}
	out, err := c.execute(d)
	if err != nil {
		var pe partErrorWrap
		errors.As(err, &pe)
		return Rendered{}, &TemplateError{Kind: kind, Locale: locale, Part: pe.part, Err: pe.err}
	}
	out.Locale = locale
	out.Subject = OneLine(out.Subject)
	if m := d.Ticket.Marker; m != "" && !strings.Contains(out.Subject, m) {
		out.Subject = strings.TrimSpace(out.Subject + " " + m)
	}
	if out.Subject == "" {
		return Rendered{}, &TemplateError{Kind: kind, Locale: locale, Part: "subject", Err: errors.New("renders empty")}
	}
	out.Text = strings.TrimRight(out.Text, "\r\n \t") + "\n"
	return out, nil
}

// OneLine makes s safe for a header: every control character (CR and LF
// included) becomes a space, runs of spaces become one, and the ends are trimmed.
func OneLine(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// FallbackLocales is the order in which locales are tried for a service whose
// own locale has no template: its locale, then Japanese, then English.
func FallbackLocales(locale string) []string {
	out := []string{}
	for _, l := range []string{locale, "ja", "en"} {
		if l != "" && !contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// Select picks the template of kind for a service in locale: the service's own
// template for the first locale of FallbackLocales that has one, else the
// built-in one for it. custom maps locale → template (the service's forms of
// this kind); it may be nil. It returns the locale chosen.
func Select(kind Kind, locale string, custom map[string]Template) (Template, string, error) {
	for _, l := range FallbackLocales(locale) {
		if t, ok := custom[l]; ok {
			return t, l, nil
		}
		if t, ok := Default(kind, l); ok {
			return t, l, nil
		}
	}
	return Template{}, "", fmt.Errorf("no %s template for locale %q", kind, locale)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
