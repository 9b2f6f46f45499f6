package email

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ExtractReply separates the new words of a mail from the history it quotes,
// whether the customer wrote above the quote, below it, or between its
// paragraphs. Dropped, with their blank lines:
//
//   - quoted lines ("> ", "＞", "| ");
//   - attribution lines ("On … wrote:", "Am … schrieb …:", "Le … a écrit :",
//     "2026年11月24日(火) 10:00 山田太郎 <…>:", "…님이 작성:", "… 写道：", see
//     quote_patterns.go), also when the client wrapped them over two or
//     three lines, and Zoho's "---- On … wrote ----";
//   - separators ("-----Original Message-----", "---------- Forwarded
//     message ---------", Outlook's rule of underscores) and Outlook header
//     blocks ("From:"/"Sent:", "差出人:"/"送信日時:", "보낸 사람:"/"보낸 날짜:" …)
//     with the header fields that follow them;
//   - lines a phone adds ("Sent from my iPhone", "iPhoneから送信");
//   - a signature after "-- ".
//
// After an attribution, separator or header block that quoted lines follow,
// every unquoted paragraph below is the customer's again (a reply below the
// quote, or answers between quoted paragraphs) and is kept, in order, one
// blank line apart. When unquoted text follows instead (Outlook copies the
// original without quote marks), everything from there on is history, except
// the comments Outlook marks with the writer's name ("[Name] …").
//
// When unsure whether a line is an attribution, it is kept: a weak one
// ("Bob wrote:", a date and address without a verb) counts only when quoted
// lines follow. onlyQuotes reports a mail that quotes history and adds no
// words of its own: reply is then empty.
func ExtractReply(text string) (reply string, onlyQuotes bool) {
	s := newReplyScanner(text)
	s.scan()
	reply = s.reply()
	return reply, reply == "" && s.history
}

// ReplyText is the reply of ExtractReply.
func ReplyText(text string) string {
	reply, _ := ExtractReply(text)
	return reply
}

// maxAttributionLine bounds the lines tried as (part of) an attribution, so
// the patterns never run over long lines: real attribution lines are short.
const maxAttributionLine = 400

// replyScanner classifies the lines of one text. Each line is looked at a
// bounded number of times (a marker looks back at most two lines and ahead
// at most a header block), so the work is linear in the text.
type replyScanner struct {
	lines   []string // as written
	trim    []string // without surrounding white space
	keep    []bool
	next    []int // next[i]: the first non-blank line at or after i, or len(lines)
	history bool  // some quoted history was found
}

func newReplyScanner(text string) *replyScanner {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	s := &replyScanner{lines: lines, trim: make([]string, len(lines)), keep: make([]bool, len(lines)), next: make([]int, len(lines)+1)}
	for i, l := range lines {
		s.trim[i] = strings.TrimSpace(l)
	}
	s.next[len(lines)] = len(lines)
	for i := len(lines) - 1; i >= 0; i-- {
		if s.trim[i] != "" {
			s.next[i] = i
		} else {
			s.next[i] = s.next[i+1]
		}
	}
	return s
}

// quotedAt reports whether the first non-blank line at or after i is quoted.
func (s *replyScanner) quotedAt(i int) bool {
	if i > len(s.lines) {
		return false
	}
	j := s.next[i]
	return j < len(s.lines) && isQuotedLine(s.trim[j])
}

func (s *replyScanner) scan() {
	for i := 0; i < len(s.lines); i++ {
		l := s.trim[i]
		switch {
		case l == "":
			s.keep[i] = true
		case isQuotedLine(l):
			s.history = true
		case len(l) <= 160 && mobileSignaturePattern.MatchString(l):
		case l == "--" || s.lines[i] == "-- ":
			return // a signature: nothing of the reply follows it
		default:
			start, end, ok := s.markerAt(i)
			if !ok {
				s.keep[i] = true
				continue
			}
			for j := start; j < end; j++ {
				s.keep[j] = false
			}
			s.history = true
			if s.quotedAt(end) {
				i = end - 1 // the quote follows: the customer may write below it
				continue
			}
			s.keepInlineComments(end)
			return
		}
	}
}

// markerAt reports whether quoted history is introduced at line i, and which
// lines [start, end) introduce it: an attribution (which may start up to two
// lines above i), a separator or an Outlook header block, with their fields.
func (s *replyScanner) markerAt(i int) (start, end int, ok bool) {
	l := s.trim[i]
	switch l[0] {
	case '-', '=':
		if len(l) <= maxAttributionLine && separatorPattern.MatchString(l) {
			return i, s.fieldsEnd(i + 1), true
		}
		// Zoho: "---- On Mon, 24 Nov 2026 10:00:00 +0900 Name <…> wrote ----"
		if strings.HasPrefix(l, "--") && strings.HasSuffix(l, "--") && len(l) <= maxAttributionLine {
			if st := attributionStrength(strings.Trim(l, "- ") + ":"); st == strong || st == weak && s.quotedAt(i+1) {
				return i, i + 1, true
			}
		}
		return 0, 0, false
	case '_':
		// Outlook's rule above the header block of the message it quotes.
		if len(l) >= 20 && strings.Trim(l, "_") == "" {
			if j := s.next[i+1]; j < len(s.lines) && anyField.MatchString(s.trim[j]) {
				return i, s.fieldsEnd(j), true
			}
		}
		return 0, 0, false
	}
	if !strings.ContainsAny(l, ":：") && !mayEndWithoutColon(l) {
		return 0, 0, false // every marker below holds a colon, or ends in a verb
	}
	if s.headerBlockAt(i) {
		return i, s.fieldsEnd(i), true
	}
	if len(l) > maxAttributionLine || !mayEndAttribution(l) {
		return 0, 0, false
	}
	if forwardHeaderPattern.MatchString(l) {
		return i, s.fieldsEnd(i + 1), true
	}
	start, st := s.attributionAt(i)
	if st == strong || st == weak && s.quotedAt(i+1) {
		return start, i + 1, true
	}
	return 0, 0, false
}

// headerBlockAt reports whether an Outlook header block starts at line i:
// a From field followed within five lines by a Sent or Date field.
func (s *replyScanner) headerBlockAt(i int) bool {
	l := s.trim[i]
	if colon := strings.IndexAny(l, ":："); colon < 0 || colon > 40 || !fromField.MatchString(l) {
		return false
	}
	for j := i + 1; j < len(s.lines) && j <= i+5; j++ {
		f := s.trim[j]
		if f == "" || isQuotedLine(f) {
			return false
		}
		if sentField.MatchString(f) {
			return true
		}
	}
	return false
}

// fieldsEnd returns the end of the header fields of a quoted message starting
// at line i (Outlook, Thunderbird and Gmail write them after a separator):
// the field lines and the lines wrapped from them, up to a blank or quoted
// line. With no field at i, it is i.
func (s *replyScanner) fieldsEnd(i int) int {
	j := s.next[min(i, len(s.lines))]
	if j >= len(s.lines) || len(s.trim[j]) > maxAttributionLine || !anyField.MatchString(s.trim[j]) {
		return i
	}
	for ; j < len(s.lines) && j < i+20; j++ {
		if s.trim[j] == "" || isQuotedLine(s.trim[j]) {
			break
		}
	}
	return j
}

// attributionAt tries line i, and the one or two lines above it that begin an
// attribution the client wrapped, as an attribution line. It returns the first
// line of the attribution and how sure it is.
func (s *replyScanner) attributionAt(i int) (start int, st strength) {
	start, st = i, attributionStrength(s.trim[i])
	joined := s.trim[i]
	for k := 1; k <= 2; k++ {
		j := i - k
		if j < 0 || !s.keep[j] || s.trim[j] == "" || len(s.trim[j]) > maxAttributionLine || isQuotedLine(s.trim[j]) {
			break
		}
		joined = s.trim[j] + " " + joined
		if !startsLikeAttribution(s.trim[j]) {
			continue
		}
		if jst := attributionStrength(joined); jst > none {
			start, st = j, max(st, jst)
		}
	}
	return start, st
}

type strength int

const (
	none   strength = iota
	weak            // counts only when quoted lines follow
	strong          // counts alone
)

// attributionStrength rates one (possibly joined) line as an attribution.
// A verb pattern with a date and time or an address is strong; without them
// ("Bob wrote:"), or a date and an address with no verb, it is weak.
func attributionStrength(l string) strength {
	if attributionVerbPattern.MatchString(l) {
		// A clock time with a date beside it ("24.11.2026 um 10:00"), or an
		// address: "On Monday at 10:30 I wrote:" is prose.
		if strings.IndexByte(l, '@') >= 0 || hasClockTime(l) && digitRuns(l) >= 3 {
			return strong
		}
		return weak
	}
	if attributionDatePattern.MatchString(l) {
		return weak
	}
	return none
}

// mayEndAttribution is the cheap test every attribution line passes: it ends
// in a colon, or in a verb some clients write without one.
func mayEndAttribution(l string) bool {
	return strings.HasSuffix(l, ":") || strings.HasSuffix(l, "：") || mayEndWithoutColon(l)
}

func mayEndWithoutColon(l string) bool {
	return strings.HasSuffix(l, "작성") || strings.HasSuffix(l, "씀") || strings.HasSuffix(l, "썼습니다") ||
		strings.HasSuffix(l, "書きました")
}

// startsLikeAttribution limits the joining of wrapped lines to a first line
// that reads like the start of an attribution: a keyword ("On", "Am", "Le",
// "在" …), a date or a weekday, or a name and address; with a digit or an
// address in it, and not ending a sentence. Two lines of prose are never
// taken for one attribution.
func startsLikeAttribution(l string) bool {
	last, _ := utf8.DecodeLastRuneInString(l)
	if strings.ContainsRune(".!?。！？", last) || !strings.ContainsAny(l, "0123456789@<") {
		return false
	}
	first, _ := utf8.DecodeRuneInString(l)
	if unicode.IsDigit(first) || strings.ContainsAny(l, "@<") || strings.ContainsRune("在於于", first) {
		return true
	}
	word, _, _ := strings.Cut(l, " ")
	switch strings.ToLower(word) {
	case "on", "le", "am", "el", "il", "op", "em", "den", "w", "в", "у", "d.":
		return true
	}
	// A weekday abbreviation: "пн,", "pon.,", "lun.".
	return utf8.RuneCountInString(word) <= 5 && strings.ContainsAny(word, ",.")
}

// hasClockTime reports whether s holds a time of day such as "10:00".
func hasClockTime(s string) bool {
	for i := 1; i < len(s); i++ {
		n := 1
		switch {
		case s[i] == ':':
		case strings.HasPrefix(s[i:], "："):
			n = len("：")
		default:
			continue
		}
		if isDigit(s[i-1]) && i+n+1 < len(s) && isDigit(s[i+n]) && isDigit(s[i+n+1]) {
			return true
		}
	}
	return false
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// digitRuns counts the runs of ASCII digits in s: "24.11.2026 10:00" has five.
func digitRuns(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) && (i == 0 || !isDigit(s[i-1])) {
			n++
		}
	}
	return n
}

// isQuotedLine reports whether a (trimmed, non-blank) line is quoted: "> ",
// the full-width "＞" of Japanese clients, or "| " (a line ending in "|" is
// a table row, not a quote).
func isQuotedLine(l string) bool {
	switch {
	case l == "":
		return false
	case l[0] == '>', strings.HasPrefix(l, "＞"):
		return true
	case l[0] == '|':
		return l == "|" || !strings.HasSuffix(l, "|")
	}
	return false
}

// keepInlineComments keeps, in history Outlook copied without quote marks
// from line i on, the comments it marks with the writer's name
// ("[Taro Yamada] Yes, that one."), each with the rest of its paragraph.
func (s *replyScanner) keepInlineComments(i int) {
	in := false
	for ; i < len(s.lines); i++ {
		l := s.trim[i]
		switch {
		case l == "":
			in = false
		case isInlineComment(l):
			in = true
		}
		if in && !isQuotedLine(l) {
			s.keep[i] = true
		}
	}
}

// isInlineComment reports a line that starts with a bracketed name: "[Name] …".
func isInlineComment(l string) bool {
	if l[0] != '[' {
		return false
	}
	end := strings.IndexByte(l, ']')
	if end < 2 || end > 60 || !strings.HasPrefix(l[end+1:], " ") || strings.TrimSpace(l[end+1:]) == "" {
		return false
	}
	label := l[1:end]
	return !strings.ContainsAny(label, ":/@.=[") && strings.IndexFunc(label, unicode.IsLetter) >= 0
}

// reply joins the kept lines. Where dropped lines stood between two kept
// paragraphs, they are set one blank line apart.
func (s *replyScanner) reply() string {
	var b strings.Builder
	var blanks []string // kept blank lines not yet written
	gap, started := false, false
	for i, line := range s.lines {
		switch {
		case !s.keep[i]:
			if s.trim[i] != "" {
				gap = true
			}
			continue
		case s.trim[i] == "":
			blanks = append(blanks, line)
			continue
		}
		if started {
			if gap {
				blanks = []string{""}
			}
			for _, blank := range blanks {
				b.WriteString("\n")
				b.WriteString(blank)
			}
			b.WriteString("\n")
		}
		b.WriteString(line)
		started, blanks, gap = true, blanks[:0], false
	}
	return strings.TrimSpace(b.String())
}
