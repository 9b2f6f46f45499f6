package mailer

import (
	"slices"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// Hit is one occurrence of a forbidden word in a rendered mail. Pos counts
// characters (runes) from the start of the part, from 0.
type Hit struct {
	Word string `json:"word"`
	Part string `json:"part"` // subject | text | html
	Pos  int    `json:"pos"`
}

// FindForbidden lists every occurrence of every word in the subject, text and
// HTML of r, in that order of parts and then by position. Matching ignores case
// and full/half width ("ＧＵＡＲＡＮＴＥＥ" is "guarantee"), character by character,
// so positions are those of the rendered text.
func FindForbidden(r Rendered, words []string) []Hit {
	var hits []Hit
	parts := []struct{ name, s string }{{"subject", r.Subject}, {"text", r.Text}, {"html", r.HTML}}
	for _, p := range parts {
		if p.s == "" {
			continue
		}
		hay := foldRunes(p.s)
		var partHits []Hit
		for _, w := range words {
			needle := foldRunes(w)
			if len(needle) == 0 {
				continue
			}
			for i := 0; i+len(needle) <= len(hay); i++ {
				if slices.Equal(hay[i:i+len(needle)], needle) {
					partHits = append(partHits, Hit{Word: w, Part: p.name, Pos: i})
				}
			}
		}
		slices.SortStableFunc(partHits, func(a, b Hit) int { return a.Pos - b.Pos })
		hits = append(hits, partHits...)
	}
	return hits
}

// foldRunes folds each rune on its own, so that rune i of the result is rune i
// of s.
func foldRunes(s string) []rune {
	out := make([]rune, 0, utf8.RuneCountInString(s))
	for _, r := range s {
		if f := width.Fold.String(string(r)); f != "" {
			if fr, _ := utf8.DecodeRuneInString(f); fr != utf8.RuneError {
				r = fr
			}
		}
		out = append(out, unicode.ToLower(r))
	}
	return out
}
