package email

import (
	"regexp"
	"strings"
)

// ReplyText returns the new text of a reply: text with the quoted history
// below it removed. It cuts at the first of
//
//   - an attribution line ("On … wrote:", "Am … schrieb …:", "Le … a écrit :",
//     "2023年1月2日(月) 10:00 山田 <a@b>:", "…さんは書きました:",
//     "2023년 1월 2일 (월) 오전 10:00, 홍길동 <a@b>님이 작성:"), also when the
//     client wrapped it over two lines;
//   - a separator ("-----Original Message-----", "-----원본 메시지-----",
//     "-----元のメッセージ-----", Outlook's "________________________________");
//   - an Outlook header block ("From: …" followed by "Sent: …"/"Date: …", in
//     English, Japanese, Korean, German, French);
//   - a signature delimiter ("-- ");
//
// and then drops a trailing block of "> " quoted lines. Interleaved answers
// above the last quote are kept. The result may be empty when the message
// holds nothing but history.
func ReplyText(text string) string {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	cut := len(lines)
	for i := 0; i < len(lines); i++ {
		if quoteStart(lines, i) {
			cut = i
			break
		}
	}
	lines = lines[:cut]
	// Drop a trailing quoted block, and blank lines around it.
	end := len(lines)
	for end > 0 {
		l := strings.TrimSpace(lines[end-1])
		if l == "" || isQuotedLine(l) {
			end--
			continue
		}
		break
	}
	lines = lines[:end]
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

func isQuotedLine(l string) bool {
	return strings.HasPrefix(l, ">") || strings.HasPrefix(l, "＞")
}

var (
	// Attribution lines. Each must match the whole (possibly joined) line.
	attributionPatterns = []*regexp.Regexp{
		regexp.MustCompile(`(?i)^(on|le|am|el|il|op|em|den|på)\s.{4,}\s(wrote|writes|a écrit|schrieb|escribió|ha scritto|schreef|escreveu|skrev)\s*.{0,120}:$`),
		// Gmail/Outlook Japanese: "2023年1月2日(月) 10:00 山田 <a@b>:"; also "2023/01/02 10:00、山田 wrote:"
		regexp.MustCompile(`^\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日.{0,40}\d{1,2}[:：]\d{2}.{0,200}[:：]$`),
		regexp.MustCompile(`^.{0,200}(さんは書きました|さんが書きました)\s*[:：]?$`),
		// Korean: "2023년 1월 2일 (월) 오전 10:00, 홍길동 <a@b>님이 작성:"
		regexp.MustCompile(`^\d{4}\s*년\s*\d{1,2}\s*월\s*\d{1,2}\s*일.{0,200}(작성|씀|썼습니다)\s*[:：]?$`),
		regexp.MustCompile(`^.{1,200}님이\s*(작성|씀|썼습니다)\s*[:：]?$`),
		// Chinese clients (QQ, Foxmail, Gmail zh): "在 2023年1月2日 … 写道："
		regexp.MustCompile(`^.{0,200}(写道|寫道)\s*[:：]$`),
	}
	// Weaker attributions ("Bob wrote:", "…のメッセージ:") count only when
	// quoted lines follow.
	weakAttribution  = regexp.MustCompile(`(?i)^.{1,200}(\swrote|\swrites|\sa écrit|\sschrieb|のメッセージ|さんからのメール|からのメッセージ)\s*[:：]$`)
	separatorPattern = regexp.MustCompile(`(?i)^\s*-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original|messaggio originale|oorspronkelijk bericht|原始邮件|元のメッセージ|원본 메시지|forwarded by .*)\s*-{2,}\s*$`)
	outlookRule      = regexp.MustCompile(`^\s*_{20,}\s*$`)
	fromLine         = regexp.MustCompile(`(?i)^\s*\*?(from|差出人|送信者|보낸\s*사람|von|de|van|da)\s*\*?\s*[:：]`)
	sentLine         = regexp.MustCompile(`(?i)^\s*\*?(sent|date|送信日時|送信日|日付|日時|보낸\s*날짜|날짜|gesendet|datum|envoyé|date d'envoi|enviado|inviato)\s*\*?\s*[:：]`)
)

// quoteStart reports whether the quoted history starts at lines[i].
func quoteStart(lines []string, i int) bool {
	line := strings.TrimSpace(lines[i])
	if line == "" {
		return false
	}
	if line == "--" || lines[i] == "-- " {
		return true // signature delimiter
	}
	// Cheap byte tests first: the regexps below are most of the cost of
	// parsing a message, and almost every line fails these.
	if (line[0] == '-' && separatorPattern.MatchString(line)) || (line[0] == '_' && outlookRule.MatchString(line)) {
		return true
	}
	hasColon := strings.ContainsAny(line, ":：")
	if hasColon && fromLine.MatchString(line) {
		// An Outlook header block: From: followed closely by Sent:/Date:/To:.
		for j := i + 1; j < len(lines) && j <= i+4; j++ {
			if sentLine.MatchString(lines[j]) {
				return true
			}
		}
	}
	if isQuotedLine(line) || len(line) > 300 {
		return false
	}
	if mayBeAttribution(line) {
		if isAttribution(line) {
			return true
		}
		if weakAttribution.MatchString(line) && quotedLineFollows(lines, i+1) {
			return true
		}
	}
	// Attribution lines wrapped by the sender's client: join with the next
	// line (Gmail wraps long "On … <a@b> wrote:" lines).
	if i+1 < len(lines) {
		next := strings.TrimSpace(lines[i+1])
		if next != "" && !isQuotedLine(next) && len(next) < 200 && looksLikeAttributionStart(line) {
			joined := line + " " + next
			if mayBeAttribution(joined) && (isAttribution(joined) || weakAttribution.MatchString(joined) && quotedLineFollows(lines, i+2)) {
				return true
			}
		}
	}
	return false
}

// mayBeAttribution is the cheap precondition of every attribution pattern:
// they end in a colon, or in the Korean and Japanese verbs that may lack one.
func mayBeAttribution(line string) bool {
	return strings.HasSuffix(line, ":") || strings.HasSuffix(line, "：") ||
		strings.Contains(line, "작성") || strings.Contains(line, "씀") || strings.Contains(line, "썼습니다") ||
		strings.Contains(line, "書きました")
}

func isAttribution(line string) bool {
	for _, re := range attributionPatterns {
		if re.MatchString(line) {
			return true
		}
	}
	return false
}

// looksLikeAttributionStart limits line joining to lines that begin like an
// attribution, so two ordinary lines are never taken for one.
func looksLikeAttributionStart(line string) bool {
	l := strings.ToLower(line)
	for _, p := range []string{"on ", "le ", "am ", "el ", "il ", "op ", "em "} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return len(line) > 4 && line[0] >= '0' && line[0] <= '9' &&
		(strings.Contains(line, "年") || strings.Contains(line, "년") || strings.Contains(line, "/"))
}

// quotedLineFollows reports whether the first non-blank line from lines[i] on is quoted.
func quotedLineFollows(lines []string, i int) bool {
	for ; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l != "" {
			return isQuotedLine(l)
		}
	}
	return false
}
