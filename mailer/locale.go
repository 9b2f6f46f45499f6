package mailer

import "unicode"

// DetectLocale guesses the language a customer wrote in, so that the answer
// comes in it: Hangul is Korean, kana is Japanese, Latin letters alone are
// English. A few kana or Hangul in Latin text (a name in a signature) do not
// count: a script decides when it has at least a quarter as many characters
// as the Latin letters. Text that says nothing clear (empty, Han characters
// alone, other scripts) gives fallback, the service's locale.
func DetectLocale(text, fallback string) string {
	var hangul, kana, latin, other int
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Hangul, r):
			hangul++
		case unicode.In(r, unicode.Hiragana, unicode.Katakana):
			kana++
		case r < 0x250 && unicode.IsLetter(r):
			latin++
		case unicode.IsLetter(r) && !unicode.Is(unicode.Han, r):
			other++
		}
	}
	switch {
	case hangul > 0 && hangul >= kana && 4*hangul >= latin:
		return "ko"
	case kana > 0 && 4*kana >= latin:
		return "ja"
	case latin >= 10 && other == 0 && (hangul > 0 || kana > 0 || !hasHan(text)):
		return "en"
	}
	return fallback
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}
