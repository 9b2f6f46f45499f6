package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Why this package splits MIME itself instead of reading it with go-message's
// Entity/textproto API: the whole message is already in memory, and
// go-message (like net/mail and mime.ParseMediaType below it) is strict where
// real mail is not — it stops the header at an mbox "From " line or a bad
// field name, drops a multipart whose Content-Type has a stray character, and
// decodes charsets through the package-global message.CharsetReader, which
// other packages in this binary may set differently. Splitting bytes with
// forgiving rules and decoding with our own charset table (charset.go) keeps
// every message readable, keeps us off that global, and parses faster than the
// ~14k msgs/s measured for go-message (see BenchmarkParseCorpus).

// Default limits; a zero field in ParseOptions takes these.
const (
	DefaultMaxSize           = 50 << 20 // whole message
	DefaultMaxAttachmentSize = 25 << 20 // one decoded attachment
	DefaultMaxParts          = 1000
	DefaultMaxDepth          = 32
)

// ParseOptions bounds the work Parse does on one message.
type ParseOptions struct {
	// MaxSize is the largest message body parsed; a larger message is an
	// ErrTooLarge error, but its header is still decoded.
	MaxSize int64
	// MaxAttachmentSize is the largest decoded attachment whose bytes are kept;
	// larger ones are listed with Omitted set and no Data.
	MaxAttachmentSize int64
	// MaxParts and MaxDepth bound the MIME tree (hostile mail nests deeply).
	MaxParts int
	MaxDepth int
	// Locale is the receiving service's locale ("ja", "ko", "zh-TW" …). When
	// text without a charset label reads equally well in two charsets, one
	// of the locale's language wins; it never overrides clear evidence.
	Locale string
}

func (o ParseOptions) withDefaults() ParseOptions {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.MaxAttachmentSize <= 0 {
		o.MaxAttachmentSize = DefaultMaxAttachmentSize
	}
	if o.MaxParts <= 0 {
		o.MaxParts = DefaultMaxParts
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	return o
}

// Errors returned by Parse. All are permanent: parsing the same bytes again
// gives the same result, so callers should not retry.
var (
	ErrEmpty      = errors.New("email: empty message")
	ErrTooLarge   = errors.New("email: message too large")
	ErrTooComplex = errors.New("email: too many MIME parts")
	ErrInternal   = errors.New("email: internal parser error") // a recovered panic: a bug here
)

// Parsed is a decoded message. Every string is valid UTF-8 without NUL bytes.
type Parsed struct {
	MessageID  string    `json:"message_id"` // without angle brackets
	Subject    string    `json:"subject"`
	From       Address   `json:"from"`
	To         []Address `json:"to"`
	Cc         []Address `json:"cc"`
	ReplyTo    []Address `json:"reply_to"`
	Date       string    `json:"date,omitempty"` // RFC 3339; empty if absent or unparseable
	Time       time.Time `json:"-"`              // Date as a time; zero if absent
	InReplyTo  string    `json:"in_reply_to"`
	References []string  `json:"references"`

	Text        string       `json:"text"`        // first text/plain body, or text rendered from HTML
	HTML        string       `json:"html"`        // first text/html body, sanitised for display
	ReplyText   string       `json:"reply_text"`  // Text without quoted history and signature
	OnlyQuotes  bool         `json:"only_quotes"` // the mail quotes earlier ones and adds nothing: ReplyText is empty
	Attachments []Attachment `json:"attachments"`

	AutoSubmitted bool   `json:"auto_submitted"`
	AutoReason    string `json:"auto_reason"`

	Bounce                  bool   `json:"bounce"`
	BounceOriginalMessageID string `json:"bounce_original_message_id,omitempty"`
	// BounceDSN is set when the bounce carried a machine-readable delivery
	// status (RFC 3464): then no failed recipient means delayed or relayed.
	BounceDSN              bool              `json:"bounce_dsn,omitempty"`
	BounceFailedRecipients []FailedRecipient `json:"bounce_failed_recipients,omitempty"`

	Error string `json:"error,omitempty"` // set when Parse returned an error
}

// Attachment is a non-body part: a file, an inline image, a forwarded message.
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"` // decoded bytes
	ContentID   string `json:"content_id,omitempty"`
	Inline      bool   `json:"inline"`
	SHA256      string `json:"sha256,omitempty"`  // hex, of Data; empty when omitted
	Omitted     bool   `json:"omitted,omitempty"` // larger than MaxAttachmentSize: Data dropped
	Data        []byte `json:"-"`
}

// JSON encodes p for the CLI and the job payloads.
func (p *Parsed) JSON() ([]byte, error) { return json.Marshal(p) }

// forwardedName names an attached message that has no filename of its own.
const forwardedName = "forwarded.eml"

// Parse decodes a raw RFC 5322 message. It never panics and always returns a
// non-nil *Parsed: on error it holds what could be read (at least the header
// fields when the header was readable) and Error repeats the error.
func Parse(raw []byte, opts ParseOptions) (p *Parsed, err error) {
	p = &Parsed{}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrInternal, r)
		}
		if err != nil {
			p.Error = err.Error()
		}
		p.finish()
	}()
	opts = opts.withDefaults()
	if len(bytes.TrimSpace(raw)) == 0 {
		return p, ErrEmpty
	}
	if bytes.IndexByte(raw, '\n') < 0 && bytes.IndexByte(raw, '\r') >= 0 {
		raw = bytes.ReplaceAll(raw, []byte("\r"), []byte("\n")) // old Mac line endings
	}
	h, body := readHeader(raw)
	hint := messageHint(h, body, localeLang(opts.Locale))
	p.readHeaderFields(h, hint)
	if int64(len(raw)) > opts.MaxSize {
		return p, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(raw), opts.MaxSize)
	}

	w := &walker{opts: opts, p: p, hint: hint}
	w.entity(h, body, 0, partContext{})
	w.finishBodies()
	p.AutoSubmitted, p.AutoReason = detectAutoSubmitted(h)
	w.finishBounce(h)
	return p, w.err
}

// readHeaderFields fills the fields that come from the top-level header.
func (p *Parsed) readHeaderFields(h header, hint textHint) {
	p.Subject = oneLine(decodeHeaderText(h.get("subject"), hint))
	if from, ok := firstValid(parseAddressList(h.get("from"), hint)); ok {
		p.From = from
	} else if sender, ok := firstValid(parseAddressList(h.get("sender"), hint)); ok {
		p.From = sender
	}
	p.To = parseAddressList(strings.Join(h.values("to"), ", "), hint)
	p.Cc = parseAddressList(strings.Join(h.values("cc"), ", "), hint)
	p.ReplyTo = parseAddressList(h.get("reply-to"), hint)
	if ids := parseMessageIDs(h.get("message-id")); len(ids) > 0 {
		p.MessageID = ids[0]
	} else if v := normalizeMessageID(h.get("message-id")); v != "" {
		p.MessageID = v
	}
	if t, ok := parseDate(h.get("date")); ok {
		p.Time = t
		p.Date = t.Format(time.RFC3339)
	}
	if ids := parseMessageIDs(h.get("in-reply-to")); len(ids) > 0 {
		p.InReplyTo = ids[0]
	}
	p.References = parseMessageIDs(strings.Join(h.values("references"), " "))
}

var charsetParam = regexp.MustCompile(`(?i)charset\s*=\s*["']?([a-z0-9_.:-]+)`)

// textHint is what the parser knows for decoding text that carries no
// charset of its own (raw 8-bit header values, unlabelled bodies).
type textHint struct {
	// label is the charset the message's text declares (the sender's mailer
	// almost always wrote raw header bytes in the same charset as the body),
	// or the one detected from all of its raw header text together.
	label string
	// locale is the service's language: it breaks ties between charsets.
	locale lang
}

// messageHint builds the hint for a message. The label is only looked for
// when the header has 8-bit bytes.
func messageHint(h header, body []byte, locale lang) textHint {
	hint := textHint{locale: locale}
	raw := false
	for _, f := range h {
		if hasHighBytes([]byte(f.value)) {
			raw = true
			break
		}
	}
	if !raw {
		return hint
	}
	if _, params := parseParamHeader(h.get("content-type"), hint); params["charset"] != "" {
		hint.label = params["charset"]
		return hint
	}
	if len(body) > 64<<10 {
		body = body[:64<<10]
	}
	if m := charsetParam.FindSubmatch(body); m != nil {
		hint.label = string(m[1])
		return hint
	}
	// Nothing declared: detect once from all the raw header text together
	// (and the start of the body), which says far more than one short field.
	var sample []byte
	for _, f := range h {
		if hasHighBytes([]byte(f.value)) {
			sample = append(append(sample, f.value...), '\n')
		}
	}
	if len(body) > 8<<10 {
		body = body[:8<<10]
	}
	if !hasISO2022Escape(sample) {
		hint.label = detectCharset(append(sample, body...), nil, locale).label
	}
	return hint
}

// partContext is what an entity needs to know about where it sits.
type partContext struct {
	parent     string // subtype of the enclosing multipart ("mixed", "alternative", …)
	resource   bool   // a non-root part of multipart/related
	report     bool   // a direct child of multipart/report
	reportType string // its report-type parameter
}

// walker collects bodies and attachments from the MIME tree in document order.
type walker struct {
	opts ParseOptions
	p    *Parsed
	hint textHint
	err  error

	parts    int
	sections []section // the message text so far (bodytext.go)

	report         bool   // top level is a delivery-status report
	reportOrigID   string // Message-ID of the returned original
	nestedFirstID  string // Message-ID of the first attached message, for odd bounces
	reportFailures []FailedRecipient
}

func (w *walker) entity(h header, body []byte, depth int, ctx partContext) {
	w.parts++
	if w.parts > w.opts.MaxParts {
		w.err = ErrTooComplex
		return
	}
	ct, ctParams := parseParamHeader(h.get("content-type"), w.hint)
	ct = normalizeMediaType(ct, ctx)

	if strings.HasPrefix(ct, "multipart/") && depth < w.opts.MaxDepth {
		if w.multipart(h, ct, ctParams, body, depth, ctx) {
			return
		}
		// No parts found: show the body as text rather than lose it.
		ct, ctParams = "text/plain", map[string]string{"charset": ctParams["charset"]}
	}

	disp, dParams := parseParamHeader(h.get("content-disposition"), w.hint)
	filename := dParams["filename"]
	if filename == "" {
		filename = ctParams["name"]
	}
	filename = cleanFilename(filename)
	cte := cleanToken(h.get("content-transfer-encoding"))

	switch {
	case isUuencodeLabel(cte, ct):
		w.uuencodedPart(h, ct, disp, filename, body)
	case ctx.report && (ct == "message/rfc822" || ct == "message/global" || ct == "text/rfc822-headers"):
		orig, _ := readHeader(decodeTransfer(cte, body))
		if ids := parseMessageIDs(orig.get("message-id")); len(ids) > 0 && w.reportOrigID == "" {
			w.reportOrigID = ids[0]
		}
		if ctx.reportType != "delivery-status" {
			w.attachment(h, ct, disp, filename, body)
		} // else the returned original is evidence, not an attachment
	case ctx.report && (ct == "message/delivery-status" || ct == "message/global-delivery-status"):
		w.reportFailures = append(w.reportFailures, parseDeliveryStatus(decodeTransfer(cte, body))...)
	case (ct == "text/plain" || ct == "text/html") && disp != "attachment" && filename == "" &&
		!(ctx.resource && (h.has("content-id") || h.has("content-location"))):
		// Inline text is message text, wherever it sits; a related part
		// with a Content-ID or -Location is a resource the root refers to.
		w.textPart(h, ct, ctParams, cte, body)
	default:
		w.attachment(h, ct, disp, filename, body)
	}
}

// textPart adds an inline text part to the message text, and the files of
// any uuencoded blocks in it to the attachments.
func (w *walker) textPart(h header, ct string, params map[string]string, cte string, body []byte) {
	if len(bytes.TrimSpace(body)) == 0 {
		return // an empty body part (often a stray trailing part) is nothing
	}
	data := decodeTransfer(cte, body)
	if ct == "text/html" {
		w.sections = append(w.sections, section{html: []string{decodeText(data, params["charset"], true, w.hint.locale)}})
		return
	}
	data, files := extractUuencoded(data)
	if text := decodeText(data, params["charset"], false, w.hint.locale); strings.TrimSpace(text) != "" {
		w.sections = append(w.sections, section{plain: []string{text}})
	}
	for _, f := range files {
		w.addAttachment(Attachment{Filename: cleanFilename(f.name), ContentType: sniffMediaType(f.data)}, f.data)
	}
}

// uuencodedPart decodes a part labelled as uuencoded into a file; one that
// does not decode is kept as it came.
func (w *walker) uuencodedPart(h header, ct, disp, filename string, body []byte) {
	data, name, ok := uudecodePart(decodeTransfer(cleanToken(h.get("content-transfer-encoding")), body))
	if !ok {
		w.attachment(h, ct, disp, filename, body)
		return
	}
	if filename == "" {
		filename = cleanFilename(name)
	}
	if strings.HasSuffix(ct, "uuencode") || strings.HasSuffix(ct, "uue") {
		ct = sniffMediaType(data)
	}
	w.addAttachment(Attachment{Filename: filename, ContentType: ct, ContentID: normalizeMessageID(h.get("content-id")),
		Inline: disp == "inline"}, data)
}

// multipart walks the children of a multipart entity; false means it had none.
func (w *walker) multipart(h header, ct string, params map[string]string, body []byte, depth int, ctx partContext) bool {
	boundary := params["boundary"]
	if boundary == "" {
		boundary = sniffBoundary(body)
	}
	parts := splitMultipart(body, boundary)
	if len(parts) == 0 {
		// Some mailers transfer-encode the multipart itself, against RFC 2045.
		if cte := cleanToken(h.get("content-transfer-encoding")); cte == "base64" || cte == "quoted-printable" {
			parts = splitMultipart(decodeTransfer(cte, body), boundary)
		}
	}
	if len(parts) == 0 {
		return false
	}
	sub := strings.TrimPrefix(ct, "multipart/")
	if sub == "report" && depth == 0 {
		w.report = strings.EqualFold(params["report-type"], "delivery-status")
	}
	root := 0
	if sub == "related" {
		root = relatedRoot(parts, params["start"])
		// Walk the root first so it becomes the body even when it is not first.
		parts[0], parts[root] = parts[root], parts[0]
	}
	if sub == "alternative" {
		return w.alternative(parts, depth)
	}
	prevText := -1 // index of the section the previous child added alone, if any
	for i, part := range parts {
		ph, pbody := readHeader(part)
		child := partContext{parent: sub}
		switch sub {
		case "related":
			child.resource = i != 0
		case "report":
			child.report = true
			child.reportType = strings.ToLower(params["report-type"])
		}
		nSec, nAtt := len(w.sections), len(w.p.Attachments)
		w.entity(ph, pbody, depth+1, child)
		if w.err != nil {
			return true
		}
		if len(w.sections) != nSec+1 || len(w.p.Attachments) != nAtt {
			prevText = -1
			continue
		}
		if prevText >= 0 && w.mergeSiblings(prevText) {
			prevText = -1
			continue
		}
		prevText = nSec
	}
	return true
}

// alternative walks the children of a multipart/alternative and adds one
// section for all of them.
func (w *walker) alternative(parts [][]byte, depth int) bool {
	outer := w.sections
	alternatives := make([][]section, 0, len(parts))
	for _, part := range parts {
		ph, pbody := readHeader(part)
		w.sections = nil
		w.entity(ph, pbody, depth+1, partContext{parent: "alternative"})
		alternatives = append(alternatives, w.sections)
		if w.err != nil {
			break
		}
	}
	w.sections = outer
	if sec, ok := alternativeSection(alternatives); ok {
		w.sections = append(w.sections, sec)
	}
	return true
}

// mergeSiblings makes the last section and the one at i (added by the
// sibling just before, nothing between them) one section when one is only
// plain, the other only HTML, and they say the same (see sameWords).
func (w *walker) mergeSiblings(i int) bool {
	a, b := &w.sections[i], w.sections[len(w.sections)-1]
	plain, html := *a, b
	if len(plain.plain) == 0 {
		plain, html = html, plain
	}
	if len(plain.plain) != 1 || len(plain.html) != 0 || len(html.html) != 1 || len(html.plain) != 0 ||
		!sameWords(plain.plain[0], html.html[0]) {
		return false
	}
	*a = section{plain: plain.plain, html: html.html}
	w.sections = w.sections[:len(w.sections)-1]
	return true
}

// relatedRoot finds the part the "start" parameter names by Content-ID.
func relatedRoot(parts [][]byte, start string) int {
	start = normalizeMessageID(start)
	if start == "" {
		return 0
	}
	for i, part := range parts {
		h, _ := readHeader(part)
		if normalizeMessageID(h.get("content-id")) == start {
			return i
		}
	}
	return 0
}

// normalizeMediaType repairs a Content-Type token: absent or without a
// subtype means text/plain (message/rfc822 inside multipart/digest).
func normalizeMediaType(ct string, ctx partContext) string {
	if ct == "" {
		if ctx.parent == "digest" {
			return "message/rfc822"
		}
		return "text/plain"
	}
	if !strings.Contains(ct, "/") {
		if ct == "text" {
			return "text/plain"
		}
		return "application/octet-stream"
	}
	return ct
}

// decodeText decodes a text body to normalised UTF-8; HTML without a charset
// label may declare one in a meta element.
func decodeText(data []byte, charset string, isHTML bool, locale lang) string {
	if charset == "" && isHTML {
		charset = htmlMetaCharset(data)
	}
	return normalizeText(decodeCharset(data, charset, locale))
}

func (w *walker) attachment(h header, ct, disp, filename string, body []byte) {
	data := decodeTransfer(h.get("content-transfer-encoding"), body)
	if (ct == "message/rfc822" || ct == "message/global") && filename == "" {
		filename = forwardedName
	}
	if ct == "message/rfc822" || ct == "message/global" {
		if nh, _ := readHeader(data); w.nestedFirstID == "" {
			if ids := parseMessageIDs(nh.get("message-id")); len(ids) > 0 {
				w.nestedFirstID = ids[0]
			}
		}
	}
	cid := normalizeMessageID(h.get("content-id"))
	w.addAttachment(Attachment{
		Filename:    filename,
		ContentType: ct,
		ContentID:   cid,
		Inline:      disp == "inline" || disp == "" && cid != "",
	}, data)
}

// addAttachment records a with its data, or without it when it is too large.
func (w *walker) addAttachment(a Attachment, data []byte) {
	a.Size = int64(len(data))
	if a.Size > w.opts.MaxAttachmentSize {
		a.Omitted = true
	} else {
		sum := sha256.Sum256(data)
		a.SHA256 = hex.EncodeToString(sum[:])
		a.Data = data
	}
	w.p.Attachments = append(w.p.Attachments, a)
}

// cleanFilename keeps the base name of a client-supplied filename: paths
// (Windows or Unix) and control characters are removed, since the name is
// attacker-controlled and ends up on disks and in download headers.
func cleanFilename(name string) string {
	name = strings.TrimSpace(name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "." || name == ".." {
		return ""
	}
	return name
}

// finishBodies joins the sections into the text and the HTML (see
// bodytext.go), sanitises the HTML, and extracts the reply text.
func (w *walker) finishBodies() {
	p := w.p
	var text, htmlParts []string
	hasHTML := false
	for _, s := range w.sections {
		text = append(text, s.plainSide()...)
		hasHTML = hasHTML || len(s.html) > 0
	}
	p.Text = joinParts(text, "\n")
	if hasHTML {
		for _, s := range w.sections {
			htmlParts = append(htmlParts, s.htmlSide()...)
		}
		p.HTML = sanitizeHTML(joinParts(htmlParts, "\n"))
	}
	p.ReplyText, p.OnlyQuotes = ExtractReply(p.Text)
}

// finishBounce decides whether the message is a bounce and what it reports.
func (w *walker) finishBounce(h header) {
	p := w.p
	switch {
	case w.report:
		p.Bounce = true
	case isNonStandardBounce(p.From, p.Subject):
		p.Bounce = true
	default:
		if strings.HasPrefix(cleanToken(h.get("content-type")), "multipart/report") && !p.AutoSubmitted {
			// Read receipts (disposition-notification) and feedback reports:
			// machine mail, but not bounces.
			p.AutoSubmitted, p.AutoReason = true, "Content-Type: multipart/report"
		}
		return
	}
	p.BounceDSN = w.report
	p.BounceFailedRecipients = w.reportFailures
	if len(p.BounceFailedRecipients) == 0 {
		p.BounceFailedRecipients = failedRecipientsHeader(h)
	}
	id := w.reportOrigID
	if id == "" {
		id = w.nestedFirstID
	}
	if id == "" {
		id = messageIDInText(p.Text)
	}
	if id == "" {
		id = p.InReplyTo
	}
	if id == "" && len(p.References) > 0 {
		id = p.References[len(p.References)-1]
	}
	p.BounceOriginalMessageID = id
}

// oneLine makes a header value fit on one line.
func oneLine(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) < 0 {
		return strings.TrimSpace(s)
	}
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		switch {
		case r == '\r' || r == '\n' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, s))
}

// finish guarantees the output contract: non-nil lists (JSON [] rather than
// null) and valid UTF-8 without NUL in every string.
func (p *Parsed) finish() {
	defer func() { _ = recover() }() // never let the last resort itself fail
	if p.To == nil {
		p.To = []Address{}
	}
	if p.Cc == nil {
		p.Cc = []Address{}
	}
	if p.ReplyTo == nil {
		p.ReplyTo = []Address{}
	}
	if p.References == nil {
		p.References = []string{}
	}
	if p.Attachments == nil {
		p.Attachments = []Attachment{}
	}
	for _, s := range []*string{&p.MessageID, &p.Subject, &p.From.Name, &p.From.Address, &p.Date,
		&p.InReplyTo, &p.Text, &p.HTML, &p.ReplyText, &p.AutoReason, &p.BounceOriginalMessageID, &p.Error} {
		*s = cleanString(*s)
	}
	for _, list := range [][]Address{p.To, p.Cc, p.ReplyTo} {
		for i := range list {
			list[i].Name, list[i].Address = cleanString(list[i].Name), cleanString(list[i].Address)
		}
	}
	for i := range p.References {
		p.References[i] = cleanString(p.References[i])
	}
	for i := range p.Attachments {
		a := &p.Attachments[i]
		a.Filename, a.ContentType, a.ContentID = cleanString(a.Filename), cleanString(a.ContentType), cleanString(a.ContentID)
	}
	for i := range p.BounceFailedRecipients {
		r := &p.BounceFailedRecipients[i]
		r.Address, r.Status, r.Diagnostic = cleanString(r.Address), cleanString(r.Status), cleanString(r.Diagnostic)
	}
}

func cleanString(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}
