package email

import (
	"bytes"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/language"
)

// Charset detection for 8-bit text whose label is missing or wrong: every
// candidate decoder of golang.org/x/text decodes a sample, and the output is
// scored for what text in the candidate's language is made of. Replacement
// and private-use characters count heavily against a candidate; kana,
// Hangul and CJK ideographs count for the languages that write them, the
// commonest characters of each (commonchars.go) more; and Latin letters
// count only beside ASCII letters, since CJK bytes read as Windows-1252 come
// out as runs of accented letters and symbols.

// lang is the language a candidate charset's text is written in.
type lang uint8

const (
	anyLang lang = iota
	japaneseLang
	koreanLang
	simplifiedChineseLang
	traditionalChineseLang
	latinLang
)

// localeLang maps a service locale ("ja", "ko-KR", "zh-TW", "zh-Hans") to
// the language whose charsets win a tie; unknown locales give anyLang.
func localeLang(locale string) lang {
	if locale == "" {
		return anyLang
	}
	tag, err := language.Parse(locale)
	if err != nil {
		return anyLang
	}
	base, _ := tag.Base()
	switch base.String() {
	case "ja":
		return japaneseLang
	case "ko":
		return koreanLang
	case "zh":
		if script, _ := tag.Script(); script.String() == "Hant" {
			return traditionalChineseLang
		}
		return simplifiedChineseLang
	}
	return anyLang
}

// candidate is a charset detection may choose.
type candidate struct {
	label string
	enc   encoding.Encoding // nil for UTF-8
	lang  lang
}

// candidates, in the order that breaks exact ties.
var candidates = []candidate{
	{"utf-8", nil, anyLang},
	{"shift_jis", japanese.ShiftJIS, japaneseLang},
	{"euc-jp", japanese.EUCJP, japaneseLang},
	{"euc-kr", korean.EUCKR, koreanLang},
	{"gb18030", simplifiedchinese.GB18030, simplifiedChineseLang},
	{"big5", traditionalchinese.Big5, traditionalChineseLang},
	{"windows-1252", charmap.Windows1252, latinLang},
}

// guessable reports whether enc is one of the candidates: a label naming
// another charset (KOI8-R, ISO-8859-2 …) is trusted as it is.
func guessable(enc encoding.Encoding) (candidate, bool) {
	for _, c := range candidates {
		if c.enc != nil && c.enc == enc {
			return c, true
		}
	}
	return candidate{}, false
}

// The bytes each candidate decodes, from the line of the first 8-bit byte
// on; the winner decodes all. A label is only checked, so a shorter sample
// does.
const (
	sampleSize         = 4 << 10
	labelledSampleSize = 1 << 10
)

// detectCharset returns the candidate that decodes b best. labelled, when
// set, is the charset b claims to be in: it wins unless another scores
// clearly better (a few points plus a quarter point per 8-bit byte). Within
// two points of the best, a candidate of the locale's language wins.
func detectCharset(b []byte, labelled *candidate, locale lang) candidate {
	sample := b
	if i := firstHighByte(b); i > 0 {
		sample = b[bytes.LastIndexByte(b[:i], '\n')+1:]
	}
	limit := sampleSize
	if labelled != nil {
		limit = labelledSampleSize
	}
	if len(sample) > limit {
		sample = sample[:limit]
		if i := bytes.LastIndexByte(sample, '\n'); i > 0 {
			sample = sample[:i+1]
		}
	}
	high := 0
	for _, c := range sample {
		if c >= 0x80 {
			high++
		}
	}
	validUTF8 := utf8.Valid(sample)
	var scores [8]int
	best := -1
	for i, c := range candidates {
		if c.enc == nil && validUTF8 {
			return c // legacy text is valid UTF-8 only by accident, and not for long
		}
		scores[i] = scoreDecoding(sample, c)
		if labelled != nil && c.enc == labelled.enc {
			scores[i] += 4 + high/4
		}
		if best < 0 || scores[i] > scores[best] {
			best = i
		}
	}
	switch {
	case scores[best] <= 0 && labelled != nil:
		return *labelled // nothing reads well: keep what the sender said
	case scores[best] <= 0:
		return candidates[len(candidates)-1] // Windows-1252 decodes anything
	}
	if locale != anyLang && candidates[best].lang != locale {
		for i, c := range candidates {
			if c.lang == locale && scores[i] >= scores[best]-2 {
				return c
			}
		}
	}
	return candidates[best]
}

func firstHighByte(b []byte) int {
	for i, c := range b {
		if c >= 0x80 {
			return i
		}
	}
	return -1
}

// scoreDecoding decodes b with c and scores the text.
func scoreDecoding(b []byte, c candidate) int {
	var text string
	if c.enc == nil {
		text = toValidUTF8(b)
	} else {
		out, err := c.enc.NewDecoder().Bytes(b)
		if err != nil {
			return -1 << 20
		}
		text = string(out)
	}
	t := runeTables()
	score := 0
	var prev rune
	for i, r := range text {
		if r < utf8.RuneSelf {
			prev = r
			continue
		}
		class, common := clsRare, uint8(0)
		if r < 0x10000 {
			class, common = t.class[r], t.common[r]
		}
		if c.lang == latinLang {
			score += scoreLatin(class, prev, text[i+utf8.RuneLen(r):])
		} else {
			score += scoreCJK(c.lang, class, common)
		}
		prev = r
	}
	return score
}

// scoreCJK scores one non-ASCII character for a CJK candidate (or UTF-8,
// anyLang, for which any real character is good evidence).
func scoreCJK(l lang, class, common uint8) int {
	switch class {
	case clsBad:
		return -8
	case clsNeutral:
		return 0
	case clsCJKPunct:
		return 1
	case clsRare:
		return -2
	}
	if l == anyLang {
		return 2
	}
	switch class {
	case clsKana:
		if l == japaneseLang {
			return 3
		}
		return -1
	case clsHalfKana:
		if l == japaneseLang {
			return -1
		}
		return -3
	case clsHangul:
		switch {
		case l != koreanLang:
			return -3
		case common&commonKo != 0:
			return 3
		}
		return 1
	case clsHan:
		if l == koreanLang {
			return -1 // Hanja: rare in Korean mail
		}
		if common&langCommonBit[l] != 0 {
			return 3
		}
		return 1
	case clsLatin:
		return -2
	}
	return -1
}

// scoreLatin scores one non-ASCII character of Windows-1252 output: an
// accented letter next to an ASCII letter is Latin text ("Grüße",
// "Formação"); runs of them, and symbols away from ASCII, are CJK bytes.
func scoreLatin(class uint8, prev rune, rest string) int {
	next := rune(0)
	if rest != "" {
		next = rune(rest[0])
	}
	asciiLetter := func(r rune) bool { return r < utf8.RuneSelf && unicode.IsLetter(r) }
	switch class {
	case clsBad:
		return -8
	case clsNeutral:
		return 0
	case clsLatin:
		if asciiLetter(prev) || asciiLetter(next) {
			return 2
		}
		return -1
	}
	if prev < utf8.RuneSelf || next < utf8.RuneSelf && next != 0 {
		return 0
	}
	return -1
}

// Character classes and commonness bits of the BMP, for scoring.
const (
	clsOther    uint8 = iota // symbols, Greek, Cyrillic, box drawing …
	clsBad                   // U+FFFD, controls, private use, unassigned
	clsNeutral               // general punctuation (“ ” — …), fine in any text
	clsKana                  // hiragana, katakana
	clsHalfKana              // half-width katakana: legal, rare
	clsHangul                // Hangul syllables
	clsHan                   // CJK unified ideographs
	clsRare                  // extension A and compatibility ideographs, beyond the BMP
	clsCJKPunct              // CJK punctuation, full-width forms, ①, Ⅰ, ㈱
	clsLatin                 // letters of the Latin-1 supplement and Latin Extended-A/B
)

const (
	commonJa uint8 = 1 << iota
	commonZhHans
	commonZhHant
	commonKo
)

var langCommonBit = [...]uint8{japaneseLang: commonJa, simplifiedChineseLang: commonZhHans, traditionalChineseLang: commonZhHant, koreanLang: commonKo}

type runeTable struct {
	class, common [0x10000]uint8
}

var runeTables = sync.OnceValue(func() *runeTable {
	t := &runeTable{}
	for r := rune(0x80); r < 0x10000; r++ {
		switch {
		case r >= 0x3040 && r <= 0x30FF || r >= 0x31F0 && r <= 0x31FF:
			t.class[r] = clsKana
		case r >= 0xFF61 && r <= 0xFF9F:
			t.class[r] = clsHalfKana
		case r >= 0xAC00 && r <= 0xD7A3:
			t.class[r] = clsHangul
		case r >= 0x4E00 && r <= 0x9FFF:
			t.class[r] = clsHan
		case r >= 0x3400 && r <= 0x4DBF || r >= 0xF900 && r <= 0xFAFF:
			t.class[r] = clsRare
		case r >= 0x3000 && r <= 0x303F || r >= 0xFF01 && r <= 0xFF60 || r >= 0xFFE0 && r <= 0xFFEF ||
			r >= 0x2460 && r <= 0x24FF || r >= 0x2150 && r <= 0x218F || r >= 0x3200 && r <= 0x33FF:
			t.class[r] = clsCJKPunct
		case r >= 0x2000 && r <= 0x206F:
			t.class[r] = clsNeutral
		case r >= 0xC0 && r <= 0x24F && unicode.IsLetter(r):
			t.class[r] = clsLatin
		case r < 0xA0 || r == 0xFFFD || r >= 0xE000 && r <= 0xF8FF || r >= 0xD800 && r <= 0xDFFF || !unicode.IsPrint(r):
			t.class[r] = clsBad
		}
	}
	for bit, list := range map[uint8]string{commonJa: commonJapaneseKanji, commonZhHans: commonSimplifiedChinese,
		commonZhHant: commonTraditionalChinese, commonKo: commonHangul} {
		for _, r := range list {
			t.common[r] |= bit
		}
	}
	return t
})
