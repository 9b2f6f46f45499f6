package email

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The words mail clients write around quoted history, per language, and the
// tests that recognise one line of them. They are plain string tables and
// scans, not regular expressions: every line of every mail passes some of
// these tests, and Go's regexp engine costs microseconds per line.

// attributionVerbs end an attribution line, before its colon: "On … wrote:",
// "Le … a écrit :". A verb here follows white space or a closing bracket.
var attributionVerbs = []string{
	"wrote", "writes", // en: Gmail, Apple Mail, Thunderbird, Becky!, Yahoo, Outlook
	"a écrit",                                    // fr: "Le … a écrit :"
	"escribió",                                   // es: "El … escribió:"
	"ha scritto",                                 // it: "Il giorno … ha scritto:"
	"escreveu",                                   // pt: "Em … escreveu:"
	"pisze", "napisał(a)", "napisał", "napisała", // pl: Thunderbird "W dniu … pisze:", Gmail "… napisał(a):"
	"написал(а)", "написал", "написала", "пишет", // ru: Thunderbird "…, Name пишет:"
	"написав(ла)", "написав", "написала", "пише", // uk
	"skrev",     // sv, da, no: "Name skrev:"; "Den … skrev Name:" is in attributionMiddleVerbs
	"kirjoitti", // fi
}

// attributionVerbsCJK end an attribution line, before its colon, with no
// space needed before them.
var attributionVerbsCJK = []string{
	"写道", "寫道", // zh: Gmail "Name <…> 于2026年11月24日周二 10:00写道：", Foxmail "在 … 写道："
	"書きました",          // ja: Thunderbird, Evolution "2026/11/24 10:00 に Name さんは書きました:"
	"のメール", "のメッセージ", // ja: Apple Mail "2026/11/24 10:00、Name <…>のメール:"
	"작성", "씀", "썼습니다", // ko: Gmail "…, Name <…>님이 작성:", Apple Mail "2026. 11. 24. 오전 10:00, Name <…> 작성:"
}

// attributionVerbsNoColon may end an attribution line with no colon after
// them (some Korean and Japanese clients), when written after these words.
var attributionVerbsNoColon = map[string]string{
	"작성": "님이", "씀": "님이", "썼습니다": "님이", // ko: "…님이 작성"
	"書きました": "さんは", // ja: "…さんは書きました"
}

// attributionMiddleVerbs stand between the date and the name, after a
// leading word: "Am … schrieb Name:" (de), "Op … schreef Name:" (nl), "Den
// … skrev Name:" (sv, da, no).
var (
	attributionLeadWords   = []string{"am", "op", "den", "d."}
	attributionMiddleVerbs = []string{" schrieb ", " schreef ", " skrev "}
	// Name first: "Name <…> schrieb am 24.11.2026 10:00:", "Name wrote on …:".
	attributionNameFirst = []string{" schrieb am ", " schreef op ", " skrev den ", " wrote on ", " a écrit le "}
)

// separatorPhrases stand between runs of dashes or equals signs on a line
// that opens a copied message: Outlook's "-----Original Message-----",
// Gmail's "---------- Forwarded message ---------", Thunderbird's "--------
// Original Message --------", Zoho's "============ Forwarded message
// ============", QQ Mail's "------------------ 原始邮件 ------------------".
var separatorPhrases = keySet(
	// The original message: Outlook, Thunderbird, Yahoo, Naver, Samsung Email.
	"original message", "ursprüngliche nachricht", "originalnachricht", "message d'origine", "message original",
	"mensaje original", "messaggio originale", "mensagem original", "oorspronkelijk bericht",
	"ursprungligt meddelande", "originalmeddelande", "wiadomość oryginalna", "oryginalna wiadomość",
	"исходное сообщение", "оригинальное сообщение", "вихідне повідомлення", "оригінальне повідомлення",
	"原始邮件", "原始郵件", "原邮件", "元のメッセージ", "オリジナル メッセージ", "원본 메시지", "원본 메일", "원본메일",
	// A forwarded message: Gmail, Thunderbird, Zoho.
	"forwarded message", "weitergeleitete nachricht", "message transféré", "mensaje reenviado",
	"messaggio inoltrato", "mensagem encaminhada", "doorgestuurd bericht", "vidarebefordrat meddelande",
	"przekazana wiadomość", "пересылаемое сообщение", "пересланное сообщение", "переслане повідомлення",
	"转发的邮件", "轉寄的郵件", "転送されたメッセージ", "転送メッセージ", "전달된 메시지", "전달된 메일",
)

// forwardHeaders open a forwarded message with no dashes (Apple Mail).
var forwardHeaders = keySet("begin forwarded message", "anfang der weitergeleiteten nachricht",
	"début du message réexpédié", "inicio del mensaje reenviado", "inizio messaggio inoltrato", "転送されたメッセージ")

// fieldKind is the role of a header field in a copied message's header block.
type fieldKind int

const (
	noField fieldKind = iota
	fromFieldKind
	sentFieldKind
	otherFieldKind
)

// headerFields names the fields of a copied message's header block (Outlook
// and most webmails) per language: From/Sent/To/Subject; Von/Gesendet/An/
// Betreff; De/Envoyé/À/Objet; De/Enviado/Para/Asunto; Da/Inviato/A/Oggetto;
// Van/Verzonden/Aan/Onderwerp; Från/Skickat/Till/Ämne; Od/Wysłano/Do/Temat;
// От/Отправлено/Кому/Тема; Від/Надіслано/Кому/Тема; 发件人/发送时间/收件人/
// 主题; 差出人/送信日時/宛先/件名; 보낸 사람/보낸 날짜/받는 사람/제목; keyed by
// appendFoldKey.
var headerFields = func() map[string]fieldKind {
	m := map[string]fieldKind{}
	add := func(k fieldKind, names ...string) {
		for _, n := range names {
			m[string(appendFoldKey(nil, n))] = k
		}
	}
	add(fromFieldKind, "from", "von", "de", "da", "van", "från", "fra", "od", "от", "від", "差出人", "送信者",
		"发件人", "發件人", "寄件者", "寄件人", "보낸 사람")
	add(sentFieldKind, "sent", "date", "gesendet", "datum", "envoyé", "date d'envoi", "enviado", "enviada",
		"fecha", "inviato", "data", "verzonden", "skickat", "sendt", "wysłano", "отправлено", "дата", "надіслано",
		"送信日時", "送信日", "日付", "日時", "发送时间", "發送時間", "日期", "寄件日期", "傳送時間", "時間",
		"보낸 날짜", "날짜")
	add(otherFieldKind, "to", "an", "à", "a", "para", "aan", "till", "til", "do", "кому", "宛先", "收件人", "收件者",
		"받는 사람", "cc", "bcc", "kopie", "copie", "kopia", "копия", "копія", "抄送", "副本", "참조",
		"subject", "betreff", "objet", "asunto", "oggetto", "assunto", "onderwerp", "ämne", "emne", "temat", "тема",
		"件名", "主题", "主旨", "제목", "reply-to", "importance", "wichtigkeit", "priorität", "重要度", "중요도",
		"attachments", "anlagen", "添付ファイル", "첨부")
	return m
}()

// fieldOf returns the kind of the header field that line l starts with:
// "From: …", "*From:* …" (Gmail's rendering of Outlook's bold names),
// "De : …", "差出人： …".
func fieldOf(l string) fieldKind {
	colon := indexColon(l)
	if colon <= 0 || colon > 40 {
		return noField
	}
	name := strings.TrimSpace(strings.Trim(l[:colon], "* \t"))
	if name == "" || len(name) > 30 {
		return noField
	}
	var buf [64]byte
	return headerFields[string(appendFoldKey(buf[:0], name))]
}

// indexColon returns the index of the first colon, ASCII or full-width, in
// l, or -1 (strings.IndexAny decodes every rune when a set is not ASCII).
func indexColon(l string) int {
	i := strings.IndexByte(l, ':')
	if j := strings.Index(l, "："); j >= 0 && (i < 0 || j < i) {
		return j
	}
	return i
}

// appendFoldKey appends s in lower case without spaces to key: a map key
// built on the stack, as these tests run on many lines of every mail.
func appendFoldKey(key []byte, s string) []byte {
	for _, r := range s {
		if r != ' ' {
			key = utf8.AppendRune(key, unicode.ToLower(r))
		}
	}
	return key
}

// hasPrefixFold and hasSuffixFold are strings.HasPrefix and HasSuffix
// under Unicode case folding, for the ASCII, Latin and Cyrillic words of
// these tables (whose cases have the same length in UTF-8).
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// mobileSignatureForms are the lines phones and mail apps add on their own
// ("Sent from my iPhone", "iPhoneから送信", "Galaxy에서 보냄", "Get Outlook for
// iOS"), as a lead and a tail around a product name, compared without case.
var mobileSignatureForms = []struct{ lead, tail string }{
	{"sent from my ", ""}, {"sent from ", ""}, {"sent with ", ""}, {"sent via ", ""}, {"sent using ", ""}, {"get ", ""},
	{"von meinem ", " gesendet"}, {"gesendet von meinem ", ""}, {"gesendet von ", ""}, {"gesendet mit ", ""},
	{"envoyé de mon ", ""}, {"envoyé depuis mon ", ""}, {"envoyé depuis ", ""}, {"envoyé avec ", ""}, {"envoyé de ", ""},
	{"enviado desde mi ", ""}, {"enviado desde ", ""}, {"obtener ", ""},
	{"inviato dal mio ", ""}, {"inviato da ", ""}, {"scarica ", ""},
	{"enviado do meu ", ""}, {"enviado do ", ""}, {"baixe o ", ""},
	{"verzonden vanaf mijn ", ""}, {"verzonden met mijn ", ""}, {"verzonden vanaf ", ""}, {"verzonden met ", ""},
	{"skickat från min ", ""}, {"skickat från ", ""}, {"hämta ", ""},
	{"wysłane z mojego ", ""}, {"wysłane z ", ""},
	{"отправлено с моего ", ""}, {"отправлено с ", ""}, {"отправлено из ", ""},
	{"надіслано з мого ", ""}, {"надіслано з ", ""},
	{"私の", "から送信"}, {"", "から送信"},
	{"나의 ", "에서 보냄"}, {"", "에서 보냄"}, {"", "에서 보냈습니다"}, {"", "에서 전송"},
	{"送自我的", ""}, {"发自我的", ""}, {"發自我的", ""}, {"来自我的", ""}, {"來自我的", ""},
	{"从我的", "发送"}, {"從我的", "傳送"}, {"從我的", "發送"},
}

// mobileProducts are the devices and apps those lines name.
// A product may be followed by up to three words of a model name ("iPhone 15
// Pro", "Samsung Galaxy smartphone", "Outlook for iOS").
var mobileProducts = []string{
	"iphone", "ipad", "ipod", "android", "galaxy", "samsung", "blackberry", "huawei", "xiaomi", "pixel",
	"mobile", "mobil", "smartphone", "windows phone", "my phone", "handy", "ios",
	"outlook", "yahoo mail", "mail", "aol", "gmail", "proton mail", "protonmail", "blue mail", "spark",
	"スマートフォン", "スマホ", "携帯", "갤럭시", "안드로이드", "휴대폰", "아이폰", "手机", "手機",
}

// isMobileSignature reports whether line l (trimmed, at most 80 bytes) is a
// phone's or mail app's own signature.
func isMobileSignature(l string) bool {
	// Outlook appends its link: "Get Outlook for iOS<https://aka.ms/o0ukef>".
	if i := strings.Index(l, "http"); i > 0 && strings.ContainsRune("<([", rune(l[i-1])) {
		l = strings.TrimSpace(l[:i-1])
	}
	l = strings.TrimRight(l, ".!。 ")
	for _, f := range mobileSignatureForms {
		if !hasPrefixFold(l, f.lead) || !hasSuffixFold(l[len(f.lead):], f.tail) {
			continue
		}
		if isMobileProduct(strings.TrimSpace(l[len(f.lead) : len(l)-len(f.tail)])) {
			return true
		}
	}
	return false
}

func isMobileProduct(s string) bool {
	for _, p := range mobileProducts {
		if !hasPrefixFold(s, p) {
			continue
		}
		rest := s[len(p):]
		if rest == "" {
			return true
		}
		if rest[0] != ' ' && rest[0] != '-' {
			continue
		}
		words := strings.Fields(rest)
		if len(words) > 3 {
			continue
		}
		model := true
		for _, w := range words {
			model = model && strings.IndexFunc(w, func(r rune) bool {
				return !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '+' || r == '-'))
			}) < 0
		}
		if model {
			return true
		}
	}
	return false
}

// isSeparator reports whether line l opens a copied message with dashes or
// equals signs around a phrase of separatorPhrases, or Apple Mail's
// "Begin forwarded message:".
func isSeparator(l string) bool {
	var buf [64]byte
	if strings.HasPrefix(l, "--") || strings.HasPrefix(l, "==") {
		phrase := strings.TrimFunc(l, func(r rune) bool { return r == '-' || r == '=' || unicode.IsSpace(r) })
		return len(phrase) <= 48 && separatorPhrases[string(appendFoldKey(buf[:0], phrase))] ||
			hasPrefixFold(phrase, "forwarded by ")
	}
	if strings.HasSuffix(l, ":") || strings.HasSuffix(l, "：") {
		phrase := strings.TrimSpace(strings.TrimRight(l, ":："))
		return len(phrase) <= 48 && forwardHeaders[string(appendFoldKey(buf[:0], phrase))]
	}
	return false
}

// attributionStrength rates one (possibly joined) line as an attribution.
// An attribution verb with a date and time or an address is strong; without
// them ("Bob wrote:"), or a time and an address without a verb ("2026年11月
// 24日(火) 10:00 Name <…>:", Gmail in Japanese and Russian), it is weak.
func attributionStrength(l string) strength {
	body := strings.TrimRight(l, " \t")
	colon := strings.HasSuffix(body, ":") || strings.HasSuffix(body, "：")
	body = strings.TrimRight(strings.TrimRight(body, ":："), " \t")
	if hasAttributionVerb(body, colon) {
		// A clock time with a date beside it ("24.11.2026 um 10:00"), or an
		// address: "On Monday at 10:30 I wrote:" is prose.
		if strings.IndexByte(l, '@') >= 0 || hasClockTime(l) && digitRuns(l) >= 3 {
			return strong
		}
		return weak
	}
	if colon && hasClockTime(body) && endsWithAddress(body) {
		return weak
	}
	return none
}

// hasAttributionVerb reports whether l (a line without its final colon) is
// worded like an attribution.
func hasAttributionVerb(l string, colon bool) bool {
	for _, v := range attributionVerbsCJK {
		if strings.HasSuffix(l, v) {
			if colon {
				return true
			}
			before, ok := attributionVerbsNoColon[v]
			return ok && strings.HasSuffix(strings.TrimRight(l[:len(l)-len(v)], " "), before)
		}
	}
	if !colon {
		return false
	}
	for _, v := range attributionVerbs {
		if hasSuffixFold(l, v) {
			rest := l[:len(l)-len(v)]
			last, _ := utf8.DecodeLastRuneInString(rest)
			if rest == "" || unicode.IsSpace(last) || strings.ContainsRune(`)>"'»`, last) {
				return true
			}
		}
	}
	// The verbs in the middle are written in lower case.
	word, _, _ := strings.Cut(l, " ")
	for _, w := range attributionLeadWords {
		if strings.EqualFold(word, w) && containsAny(l, attributionMiddleVerbs) {
			return true
		}
	}
	return containsAny(l, attributionNameFirst)
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// endsWithAddress reports whether s ends with an address: "Name <a@b.c>",
// "< a@b.c>" (wrapped), or a bare "a@b.c".
func endsWithAddress(s string) bool {
	if strings.HasSuffix(s, ">") {
		open := strings.LastIndexByte(s, '<')
		if open < 0 {
			return false
		}
		addr := strings.TrimSpace(s[open+1 : len(s)-1])
		return strings.IndexByte(addr, '@') > 0 && !strings.ContainsAny(addr, " \t<>")
	}
	i := strings.LastIndexAny(s, " \t")
	addr := s[i+1:]
	return i >= 0 && strings.IndexByte(addr, '@') > 0 && !strings.ContainsAny(addr, "<>")
}

// keySet is a set of phrases keyed as appendFoldKey keys them.
func keySet(phrases ...string) map[string]bool {
	m := make(map[string]bool, len(phrases))
	for _, p := range phrases {
		m[string(appendFoldKey(nil, p))] = true
	}
	return m
}
