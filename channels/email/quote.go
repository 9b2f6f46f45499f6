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
	var s replyScanner
	s.init(text)
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
// at most a header block), so the work is linear in the text. Lines are kept
// as offsets, not strings: a text of a million empty lines stays small.
type replyScanner struct {
	text    string
	n       int     // lines
	start   []int32 // start[i]: the offset of line i; start[n] is len(text)+1
	next    []int32 // next[i]: the first non-blank line at or after i, or n
	keep    []bool
	history bool // some quoted history was found
}

func (s *replyScanner) init(text string) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	n := strings.Count(text, "\n") + 1
	offsets := make([]int32, 2*(n+1))
	*s = replyScanner{text: text, n: n, start: offsets[:n+1], next: offsets[n+1:], keep: make([]bool, n)}
	for i, off := 1, 0; i < n; i++ {
		off += strings.IndexByte(text[off:], '\n') + 1
		s.start[i] = int32(off)
	}
	s.start[n] = int32(len(text) + 1)
	s.next[n] = int32(n)
	for i := n - 1; i >= 0; i-- {
		if s.trim(i) != "" {
			s.next[i] = int32(i)
		} else {
			s.next[i] = s.next[i+1]
		}
	}
}

// line returns line i as written, and trim without surrounding white space.
func (s *replyScanner) line(i int) string { return s.text[s.start[i] : s.start[i+1]-1] }
func (s *replyScanner) trim(i int) string { return strings.TrimSpace(s.line(i)) }

// nextNonBlank returns the first non-blank line at or after i, or s.n.
func (s *replyScanner) nextNonBlank(i int) int { return int(s.next[min(i, s.n)]) }

// quotedAt reports whether the first non-blank line at or after i is quoted.
func (s *replyScanner) quotedAt(i int) bool {
	j := s.nextNonBlank(i)
	return j < s.n && isQuotedLine(s.trim(j))
}

func (s *replyScanner) scan() {
	for i := 0; i < s.n; i++ {
		l := s.trim(i)
		switch {
		case l == "":
			s.keep[i] = true
		case isQuotedLine(l):
			s.history = true
		case len(l) <= 80 && (indexColon(l) < 0 || strings.Contains(l, "http")) && s.standsAlone(i) && isMobileSignature(l):
			// A phone's signature: it has no colon, save in a link.
		case l == "--" || s.line(i) == "-- ":
			// A signature: nothing of the reply follows it, but a quote may.
			for j := i + 1; j < s.n && !s.history; j++ {
				s.history = isQuotedLine(s.trim(j))
			}
			return
		default:
			start, end, ok := s.markerAt(i)
			if !ok {
				s.keep[i] = true
				continue
			}
			if start > 0 && s.keep[start-1] && isRule(s.trim(start-1)) {
				start-- // a rule drawn above it ("<hr>" in HTML mail becomes "----")
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
	l := s.trim(i)
	if len(l) > maxAttributionLine {
		return 0, 0, false // markers are short lines; Outlook's header block starts with one
	}
	switch l[0] {
	case '-', '=':
		if isSeparator(l) {
			return i, s.fieldsEnd(i + 1), true
		}
		// Zoho: "---- On Mon, 24 Nov 2026 10:00:00 +0900 Name <…> wrote ----"
		if strings.HasPrefix(l, "--") && strings.HasSuffix(l, "--") {
			if st := attributionStrength(strings.Trim(l, "- ") + ":"); st == strong || st == weak && s.quotedAt(i+1) {
				return i, i + 1, true
			}
		}
		return 0, 0, false
	case '_':
		// Outlook's rule above the header block of the message it quotes.
		if len(l) >= 20 && strings.Trim(l, "_") == "" {
			if j := s.nextNonBlank(i + 1); j < s.n && fieldOf(s.trim(j)) != noField {
				return i, s.fieldsEnd(j), true
			}
		}
		return 0, 0, false
	}
	if indexColon(l) < 0 && !mayEndWithoutColon(l) {
		return 0, 0, false // every marker below holds a colon, or ends in a verb
	}
	if s.headerBlockAt(i) {
		return i, s.fieldsEnd(i), true
	}
	if !mayEndAttribution(l) {
		return 0, 0, false
	}
	if isSeparator(l) {
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
	if fieldOf(s.trim(i)) != fromFieldKind {
		return false
	}
	for j := i + 1; j < s.n && j <= i+5; j++ {
		f := s.trim(j)
		if f == "" || isQuotedLine(f) {
			return false
		}
		if fieldOf(f) == sentFieldKind {
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
	j := s.nextNonBlank(i)
	if j >= s.n || fieldOf(s.trim(j)) == noField {
		return i
	}
	for ; j < s.n && j < i+20; j++ {
		if s.trim(j) == "" || isQuotedLine(s.trim(j)) {
			break
		}
	}
	return j
}

// attributionAt tries line i, and the one or two lines above it that begin an
// attribution the client wrapped, as an attribution line. It returns the first
// line of the attribution and how sure it is. A line that begins like an
// attribution itself is never joined to the one above: that is the
// customer's.
func (s *replyScanner) attributionAt(i int) (start int, st strength) {
	start, st = i, attributionStrength(s.trim(i))
	if beginsAttribution(s.trim(i)) {
		return start, st
	}
	joined := s.trim(i)
	for k := 1; k <= 2; k++ {
		j := i - k
		if j < 0 || !s.keep[j] || s.trim(j) == "" || len(s.trim(j)) > maxAttributionLine || isQuotedLine(s.trim(j)) {
			break
		}
		joined = s.trim(j) + " " + joined
		if !startsLikeAttribution(s.trim(j)) {
			continue
		}
		if jst := attributionStrength(joined); jst > none {
			start, st = j, max(st, jst)
		}
	}
	return start, st
}

// strength is how sure a line is an attribution.
type strength int

const (
	none   strength = iota
	weak            // counts only when quoted lines follow
	strong          // counts alone
)

// mayEndAttribution is the cheap test every attribution line passes: it ends
// in a colon, or in a verb some clients write without one.
func mayEndAttribution(l string) bool {
	return strings.HasSuffix(l, ":") || strings.HasSuffix(l, "：") || mayEndWithoutColon(l)
}

func mayEndWithoutColon(l string) bool {
	for verb := range attributionVerbsNoColon {
		if strings.HasSuffix(l, verb) {
			return true
		}
	}
	return false
}

// startsLikeAttribution limits the joining of wrapped lines to a first line
// that reads like the start of an attribution (see beginsAttribution), or a
// name and address ("Name <a@b.c> 於 2026年11月24日 週二"), with a digit or an
// address in it and not ending a sentence. Two lines of prose are never
// taken for one attribution.
func startsLikeAttribution(l string) bool {
	last, _ := utf8.DecodeLastRuneInString(l)
	if strings.ContainsRune(".!?。！？", last) || !strings.ContainsAny(l, "0123456789@<") {
		return false
	}
	if beginsAttribution(l) {
		return true
	}
	open := strings.IndexByte(l, '<')
	return open >= 0 && strings.IndexByte(l[open:], '@') > 0
}

// beginsAttribution reports whether l begins the way attributions do: a
// keyword ("On", "Am", "Le", "W dniu", "在" …), a date, or a weekday ("пн,",
// "pon.,", "Tue,").
func beginsAttribution(l string) bool {
	first, _ := utf8.DecodeRuneInString(l)
	if unicode.IsDigit(first) || strings.ContainsRune("在於于", first) {
		return true
	}
	word, _, _ := strings.Cut(l, " ")
	switch strings.ToLower(word) {
	case "on", "le", "am", "el", "il", "op", "em", "den", "w", "в", "у", "d.":
		return true
	}
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

// contiguous reports whether every line from first to last is kept.
func (s *replyScanner) contiguous(first, last int) bool {
	for i := first; i <= last; i++ {
		if !s.keep[i] {
			return false
		}
	}
	return true
}

// standsAlone reports whether line i is a paragraph of its own, or the
// first or last line of one: where phones put their signature.
func (s *replyScanner) standsAlone(i int) bool {
	return i == 0 || s.trim(i-1) == "" || i+1 == s.n || s.trim(i+1) == ""
}

// isRule reports whether l is a horizontal rule: four or more dashes,
// underscores or equals signs and nothing else.
func isRule(l string) bool {
	return len(l) >= 4 && (strings.Trim(l, "-") == "" || strings.Trim(l, "_") == "" || strings.Trim(l, "=") == "")
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
	for ; i < s.n; i++ {
		l := s.trim(i)
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
	first, last := -1, -1
	for i := 0; i < s.n; i++ {
		if s.keep[i] && s.trim(i) != "" {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return ""
	}
	if s.contiguous(first, last) {
		// Most replies are one run of lines (written above the quote).
		return strings.TrimSpace(s.text[s.start[first] : s.start[last+1]-1])
	}
	var b strings.Builder
	b.Grow(int(s.start[last+1] - s.start[first]))
	written := -1 // the last line written
	gap := false  // a dropped line since then
	for i := first; i <= last; i++ {
		t := s.trim(i)
		switch {
		case !s.keep[i]:
			gap = gap || t != ""
			continue
		case t == "":
			continue
		}
		if written >= 0 {
			if gap {
				b.WriteString("\n")
			} else {
				for j := written + 1; j < i; j++ { // the blank lines between, as written
					b.WriteString("\n")
					b.WriteString(s.line(j))
				}
			}
			b.WriteString("\n")
		}
		b.WriteString(s.line(i))
		written, gap = i, false
	}
	return strings.TrimSpace(b.String())
}
