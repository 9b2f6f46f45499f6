package mailer

import (
	"bytes"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
)

// Message is one mail to a customer, ready to build. Message IDs are given
// without angle brackets.
type Message struct {
	From       Person // the service: its name and support address
	To         Person // the customer
	MessageID  string // ours, fixed before the first attempt
	InReplyTo  string // the customer's latest message
	References []string
	Subject    string
	Text       string
	HTML       string // empty: text only
	Date       time.Time
}

// maxReferences bounds the References header: the first message and the most
// recent ones are what clients need (RFC 5322 section 3.6.4).
const maxReferences = 20

// HeaderError is a message that cannot be built safely: an address that does
// not parse or an identifier with characters a header cannot carry. It is
// permanent: the same data fails the same way every time.
type HeaderError struct {
	Field string
	Value string
	Msg   string
}

func (e *HeaderError) Error() string {
	return fmt.Sprintf("mail header %s %q: %s", e.Field, e.Value, e.Msg)
}

// Build checks m and turns it into a go-mail message: UTF-8, Base64 bodies,
// RFC 2047 B-encoded subject and names, text and HTML alternatives, our
// Message-ID, In-Reply-To and References, and Auto-Submitted: auto-replied
// (RFC 3834) so that the customer's auto-responders stay quiet. Names and the
// subject are folded to one line; addresses and IDs with controls are refused,
// so nothing from a template or a customer can add a header.
func (m *Message) Build() (*gomail.Msg, error) {
	from, err := address("From", m.From)
	if err != nil {
		return nil, err
	}
	to, err := address("To", m.To)
	if err != nil {
		return nil, err
	}
	if trimID(m.MessageID) == "" {
		return nil, &HeaderError{Field: "Message-ID", Msg: "is required"}
	}
	if err := checkID("Message-ID", m.MessageID); err != nil {
		return nil, err
	}
	// The customer's IDs come from mail we do not control: one that a header
	// cannot carry is left out rather than failing the reply.
	inReplyTo := trimID(m.InReplyTo)
	if checkID("In-Reply-To", inReplyTo) != nil {
		inReplyTo = ""
	}
	refs := make([]string, 0, len(m.References))
	for _, r := range m.References {
		r = trimID(r)
		if r == "" || checkID("References", r) != nil || slices.Contains(refs, "<"+r+">") {
			continue
		}
		refs = append(refs, "<"+r+">")
	}
	if len(refs) > maxReferences {
		refs = append(refs[:1], refs[len(refs)-maxReferences+1:]...)
	}
	subject := OneLine(m.Subject)
	if subject == "" {
		return nil, &HeaderError{Field: "Subject", Msg: "is empty"}
	}
	if strings.TrimSpace(m.Text) == "" {
		return nil, &HeaderError{Field: "text", Msg: "the text body is empty"}
	}

	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingB64),
		gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(from)
	msg.ToMailAddress(to)
	msg.SetMessageIDWithValue(trimID(m.MessageID))
	if inReplyTo != "" {
		msg.SetGenHeader(gomail.HeaderInReplyTo, "<"+inReplyTo+">")
	}
	if len(refs) > 0 {
		msg.SetGenHeader(gomail.HeaderReferences, strings.Join(refs, " "))
	}
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-replied")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetGenHeader(gomail.HeaderXMailer, "contiple-worker")
	msg.Subject(subject)
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	msg.SetDateWithValue(date)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if strings.TrimSpace(m.HTML) != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// Bytes is the message as it goes over SMTP (CRLF line ends).
func (m *Message) Bytes() ([]byte, error) {
	msg, err := m.Build()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := msg.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// address checks one side of the mail. The name is folded to one line; the
// address must be a plain addr-spec.
func address(field string, p Person) (*mail.Address, error) {
	if strings.ContainsFunc(p.Address, isControl) {
		return nil, &HeaderError{Field: field, Value: p.Address, Msg: "contains control characters"}
	}
	a, err := mail.ParseAddress(p.Address)
	if err != nil || a.Name != "" || a.Address != strings.TrimSpace(p.Address) {
		return nil, &HeaderError{Field: field, Value: p.Address, Msg: "is not a plain mail address"}
	}
	a.Name = OneLine(p.Name)
	if strings.ContainsFunc(a.Name, func(r rune) bool { return r >= utf8.RuneSelf }) {
		// net/mail writes such a name as an RFC 2047 word, but leaves a
		// backslash bare in its Q form, which readers reject: use the
		// full-width one, which looks the same.
		a.Name = strings.ReplaceAll(a.Name, `\`, "＼")
	}
	return a, nil
}

func checkID(field, v string) error {
	v = trimID(v)
	if v == "" {
		return nil
	}
	for _, r := range v {
		if r <= ' ' || r >= 0x7f || r == '<' || r == '>' || r == ',' {
			return &HeaderError{Field: field, Value: v, Msg: "is not a message id"}
		}
	}
	if !strings.Contains(v, "@") {
		return &HeaderError{Field: field, Value: v, Msg: "is not a message id (no @)"}
	}
	return nil
}

func trimID(v string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(v), "<"), ">")
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

// IsHeaderError says whether err is a message that cannot be built.
func IsHeaderError(err error) bool {
	var he *HeaderError
	return errors.As(err, &he)
}
