package email

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseHTMLInlineAndAttachments(t *testing.T) {
	t.Parallel()
	p := parseFixture(t, "html_inline.eml")
	if p.MessageID != "CAF=abc123@mail.gmail.com" {
		t.Errorf("message id = %q", p.MessageID)
	}
	if p.InReplyTo != "ct-123-k3j5h2g8a9@example.com" {
		t.Errorf("in-reply-to = %q", p.InReplyTo)
	}
	if diff := cmp.Diff([]string{"first@example.com", "ct-123-k3j5h2g8a9@example.com"}, p.References); diff != "" {
		t.Errorf("references (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ct-123-k3j5h2g8a9@example.com", "first@example.com"}, p.ThreadIDs()); diff != "" {
		t.Errorf("thread ids (-want +got):\n%s", diff)
	}
	if p.Date != "2023-01-02T10:00:00+09:00" {
		t.Errorf("date = %q", p.Date)
	}
	wantText := "Screen is broken & flickers…\n\nSee this page (https://example.com/x):\n\n> Old text"
	if p.Text != wantText {
		t.Errorf("text derived from HTML:\n got: %q\nwant: %q", p.Text, wantText)
	}
	if p.ReplyText != "Screen is broken & flickers…\n\nSee this page (https://example.com/x):" {
		t.Errorf("reply text = %q", p.ReplyText)
	}
	for _, bad := range []string{"<script", "alert", "onerror", "<style"} {
		if strings.Contains(p.HTML, bad) {
			t.Errorf("sanitised HTML still contains %q: %s", bad, p.HTML)
		}
	}
	if !strings.Contains(p.HTML, `src="cid:img1@example.com"`) {
		t.Errorf("sanitised HTML lost the cid: image: %s", p.HTML)
	}
	type att struct {
		Name, Type, CID string
		Inline          bool
		Size            int64
	}
	var got []att
	for _, a := range p.Attachments {
		got = append(got, att{a.Filename, a.ContentType, a.ContentID, a.Inline, a.Size})
		if len(a.SHA256) != 64 || int64(len(a.Data)) != a.Size {
			t.Errorf("%s: sha256 %q, %d bytes of data for size %d", a.Filename, a.SHA256, len(a.Data), a.Size)
		}
	}
	want := []att{
		{"shot.png", "image/png", "img1@example.com", true, 8},
		{forwardedName, "message/rfc822", "", false, int64(len("From: other@example.com\nSubject: earlier\nMessage-ID: <nested@example.com>\n\nnested body"))},
		{"big.zip", "application/zip", "", false, 57},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("attachments (-want +got):\n%s", diff)
	}
	if n, ok := ExtractTicketMarker(p.Subject); !ok || n != 123 {
		t.Errorf("ticket marker = %d, %v", n, ok)
	}
}

func TestParseLimits(t *testing.T) {
	t.Parallel()
	raw := readTestdata(t, "html_inline.eml")

	p, err := Parse(raw, ParseOptions{MaxAttachmentSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range p.Attachments {
		if a.Size > 10 && (!a.Omitted || a.Data != nil || a.SHA256 != "") {
			t.Errorf("%s (%d bytes) not omitted: %+v", a.Filename, a.Size, a)
		}
	}

	p, err = Parse(raw, ParseOptions{MaxSize: 100})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if p.Subject != "Re: [CT-123] Broken screen" || p.From.Address != "c@example.com" || p.MessageID == "" {
		t.Errorf("header not parsed on a too-large message: %+v", p)
	}
	if p.Error == "" || p.Text != "" || len(p.Attachments) != 0 {
		t.Errorf("too-large message: error %q, text %q, %d attachments", p.Error, p.Text, len(p.Attachments))
	}

	deep := strings.Repeat("Content-Type: multipart/mixed; boundary=b\n\n--b\n", 200) + "text\n"
	p, err = Parse([]byte("Subject: deep\n"+deep), ParseOptions{})
	if err != nil || p.Subject != "deep" {
		t.Errorf("deep nesting: %v, %q", err, p.Subject)
	}

	many := "Subject: many\nContent-Type: multipart/mixed; boundary=b\n\n" + strings.Repeat("--b\n\nx\n", 50)
	p, err = Parse([]byte(many), ParseOptions{MaxParts: 10})
	if !errors.Is(err, ErrTooComplex) || p.Subject != "many" {
		t.Errorf("many parts: %v, %q", err, p.Subject)
	}

	if _, err := Parse(nil, ParseOptions{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty input: %v", err)
	}
}

func TestAutoSubmitted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header string
		reason string
	}{
		{"Auto-Submitted: auto-replied", "Auto-Submitted: auto-replied"},
		{"Auto-Submitted: no", ""},
		{"Precedence: bulk", "Precedence: bulk"},
		{"Precedence: junk", "Precedence: junk"},
		{"Precedence: list", ""}, // a list relays a person's mail
		{"Precedence: auto_reply", "Precedence: auto_reply"},
		{"Precedence: first-class", ""},
		{"X-Autoreply: yes", "X-Autoreply"},
		{"X-Autorespond: vacation", "X-Autorespond"},
		{"X-Auto-Response-Suppress: DR, RN, NRN", "X-Auto-Response-Suppress: DR, RN, NRN"},
		{"X-Auto-Response-Suppress: OOF", "X-Auto-Response-Suppress: OOF"},
		{"List-Id: <news.example.com>", ""},
		{"List-Unsubscribe: <mailto:u@example.com>", ""},
		{"Return-Path: <>", "Return-Path: <>"},
		{"Return-Path: <a@example.com>", ""},
		{"X-Loop: support@example.com", "X-Loop"},
		{"Content-Type: multipart/report; report-type=disposition-notification; boundary=x", "Content-Type: multipart/report"},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			t.Parallel()
			p, _ := Parse([]byte("From: a@example.com\nSubject: s\n"+tt.header+"\n\nbody\n"), ParseOptions{})
			if p.AutoSubmitted != (tt.reason != "") || p.AutoReason != tt.reason {
				t.Errorf("auto = %v %q, want %q", p.AutoSubmitted, p.AutoReason, tt.reason)
			}
		})
	}
	p := parseFixture(t, "autoreply_ja.eml")
	if !p.AutoSubmitted || p.Subject != "不在のお知らせ" {
		t.Errorf("Japanese auto-reply: %v %q", p.AutoSubmitted, p.Subject)
	}
}

func TestBounces(t *testing.T) {
	t.Parallel()
	p := parseFixture(t, "bounce_dsn.eml")
	if !p.Bounce || p.BounceOriginalMessageID != "ct-42-k3j5h2g8a9b1c2d3@example.com" {
		t.Errorf("DSN: bounce %v, original %q", p.Bounce, p.BounceOriginalMessageID)
	}
	want := []FailedRecipient{{
		Address:    "nobody@customer.example",
		Status:     "5.1.1",
		Diagnostic: "550 5.1.1 <nobody@customer.example>: Recipient address rejected: User unknown",
	}}
	if diff := cmp.Diff(want, p.BounceFailedRecipients); diff != "" {
		t.Errorf("failed recipients (-want +got):\n%s", diff)
	}
	if n, ok := TicketTokenFromMessageID(p.BounceOriginalMessageID); !ok || n != 42 {
		t.Errorf("ticket from bounced id = %d %v", n, ok)
	}
	if len(p.Attachments) != 0 {
		t.Errorf("the returned headers became attachments: %+v", p.Attachments)
	}

	p = parseFixture(t, "bounce_qmail.eml")
	if !p.Bounce || p.BounceOriginalMessageID != "ct-7-zzzzzzzz@example.com" {
		t.Errorf("qmail: bounce %v, original %q", p.Bounce, p.BounceOriginalMessageID)
	}
	if len(p.BounceFailedRecipients) != 1 || p.BounceFailedRecipients[0].Address != "gone@customer.example" {
		t.Errorf("qmail failed recipients: %+v", p.BounceFailedRecipients)
	}

	p, _ = Parse([]byte("From: Mail Delivery Subsystem <mailer-daemon@example.net>\nSubject: Delivery Status Notification (Failure)\nIn-Reply-To: <orig@example.com>\n\nfailed\n"), ParseOptions{})
	if !p.Bounce || p.BounceOriginalMessageID != "orig@example.com" {
		t.Errorf("fallback to In-Reply-To: %v %q", p.Bounce, p.BounceOriginalMessageID)
	}
	p, _ = Parse([]byte("From: postmaster@example.net\nSubject: Question about delivery\n\nhi\n"), ParseOptions{})
	if p.Bounce {
		t.Error("a postmaster's ordinary mail is not a bounce")
	}
}

func TestThreading(t *testing.T) {
	t.Parallel()
	ids := []struct {
		in   string
		want []string
	}{
		{"<a@x> <b@x>", []string{"a@x", "b@x"}},
		{"<a@x>\r\n\t<b@x>,<a@x>", []string{"a@x", "b@x"}},
		{"a@x b@x", []string{"a@x", "b@x"}},
		{"<a@x> (Bob's message of Monday)", []string{"a@x"}},
		{"(comment <c@x>) <a@x>", []string{"a@x"}},
		{"< a@x >", []string{"a@x"}},
		{"", nil},
	}
	for _, tt := range ids {
		if diff := cmp.Diff(tt.want, parseMessageIDs(tt.in)); diff != "" {
			t.Errorf("parseMessageIDs(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
	markers := []struct {
		subject string
		n       int64
		ok      bool
	}{
		{"Re: [CT-123] Broken", 123, true},
		{"[ct-9]", 9, true},
		{"Re: ［CT-456］ 画面", 456, true},
		{"Re: ［ＣＴ－７８］", 78, true},
		{"Re: [CT-12] Fwd: [CT-7]", 12, true},
		{"[CT-] x", 0, false},
		{"CT-123 without brackets", 0, false},
		{"[CT-99999999999999999999]", 0, false},
		{"", 0, false},
	}
	for _, tt := range markers {
		if n, ok := ExtractTicketMarker(tt.subject); n != tt.n || ok != tt.ok {
			t.Errorf("ExtractTicketMarker(%q) = %d %v, want %d %v", tt.subject, n, ok, tt.n, tt.ok)
		}
	}
	tokens := []struct {
		id string
		n  int64
		ok bool
	}{
		{"ct-123-k3j5h2g8a9@example.com", 123, true},
		{"<CT-5-abcDEF12@example.com>", 5, true},
		{"ct-0123-abc@example.com", 0, false},
		{"ct-123@example.com", 0, false},
		{"ct-x-abc@example.com", 0, false},
		{"ct-123-a_b@example.com", 0, false},
		{"ct-123-abc", 0, false},
		{"abc-123-ct@example.com", 0, false},
	}
	for _, tt := range tokens {
		if n, ok := TicketTokenFromMessageID(tt.id); n != tt.n || ok != tt.ok {
			t.Errorf("TicketTokenFromMessageID(%q) = %d %v, want %d %v", tt.id, n, ok, tt.n, tt.ok)
		}
	}
}

func TestHTMLToText(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"blocks", "<div>a</div><div>b</div>", "a\nb"},
		{"paragraphs", "<p>a</p><p>b</p>", "a\n\nb"},
		{"br", "a<br>b<br/>c", "a\nb\nc"},
		{"list", "<ul><li>one</li><li>two</li></ul>", "- one\n- two"},
		{"link", `<a href="https://x.test/a">docs</a>`, "docs (https://x.test/a)"},
		{"link same as text", `<a href="https://x.test">https://x.test</a>`, "https://x.test"},
		{"mailto", `<a href="mailto:a@b.c">a@b.c</a>`, "a@b.c"},
		{"script and style", "<style>p{}</style><script>x()</script>hi", "hi"},
		{"entities", "&lt;tag&gt; &amp; &nbsp;&eacute;", "<tag> & é"},
		{"whitespace", "a\n   b\t\tc", "a b c"},
		{"table", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"},
		{"pre", "<pre>a\n  b</pre>", "a\n  b"},
		{"blockquote", "<p>new</p><blockquote><p>old</p><p>older</p></blockquote>", "new\n\n> old\n>\n> older"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := htmlToText(tt.in); got != tt.want {
				t.Errorf("htmlToText(%q)\n got: %q\nwant: %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTransferEncodings(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, cte, in, want string }{
		{"base64", "base64", "aGVsbG8=", "hello"},
		{"base64 no padding", "base64", "aGVsbG8", "hello"},
		{"base64 whitespace and junk", " BASE64; ", "aGVs\r\n bG8*=", "hello"},
		{"base64 concatenated chunks", "base64", "aGk=aGk=", "hihi"},
		{"qp", "quoted-printable", "caf=C3=A9 =\r\nau lait", "café au lait"},
		{"qp lower-case hex", "quoted-printable", "=c3=a9", "é"},
		{"qp malformed escape kept", "quoted-printable", "50% =ZZ off", "50% =ZZ off"},
		{"qp soft break with trailing space", "quoted-printable", "a= \nb", "ab"},
		{"7bit", "7bit", "plain", "plain"},
		{"unknown", "x-uuencode", "raw", "raw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(decodeTransfer(tt.cte, []byte(tt.in))); got != tt.want {
				t.Errorf("decodeTransfer(%q, %q) = %q, want %q", tt.cte, tt.in, got, tt.want)
			}
		})
	}
}
