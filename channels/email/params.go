package email

import (
	"sort"
	"strconv"
	"strings"
)

// parseParamHeader splits a Content-Type or Content-Disposition value into its
// lower-case token and parameters (names lower-cased, values decoded).
//
// mime.ParseMediaType rejects whole headers for one flaw, and a lost boundary
// loses the message, so this parser keeps what it can: a missing ";" between
// parameters, unquoted values with spaces, unterminated quotes, 8-bit and
// RFC 2047 encoded values (not allowed, but what Outlook and many Japanese
// mailers send for filenames), and RFC 2231 (name*=charset'lang'%XX,
// continuations name*0, name*1* …, joined before decoding so a multi-byte
// character split between segments survives).
func parseParamHeader(v string, hint textHint) (token string, params map[string]string) {
	v = strings.TrimSpace(v)
	end := strings.IndexAny(v, "; \t")
	if end < 0 {
		end = len(v)
	}
	token = strings.ToLower(strings.TrimSpace(v[:end]))
	raw := rawParams(v[end:])
	if len(raw) == 0 {
		return token, nil
	}
	return token, combineParams(raw, hint)
}

type rawParam struct {
	name  string // lower case, including any "*N" / "*" suffix
	value string
}

func rawParams(s string) []rawParam {
	var out []rawParam
	for len(s) > 0 {
		s = strings.TrimLeft(s, "; \t\r\n")
		if s == "" {
			break
		}
		eq := strings.IndexAny(s, "=;")
		if eq < 0 || s[eq] == ';' {
			// A bare word (or garbage) with no value: skip it.
			if eq < 0 {
				break
			}
			s = s[eq:]
			continue
		}
		name := strings.ToLower(strings.TrimSpace(s[:eq]))
		if i := strings.LastIndexAny(name, " \t"); i >= 0 {
			name = name[i+1:] // "junk name=value": keep the name next to "="
		}
		s = strings.TrimLeft(s[eq+1:], " \t")
		var value string
		if strings.HasPrefix(s, `"`) {
			value, s = readQuoted(s[1:])
		} else {
			end := strings.IndexByte(s, ';')
			if end < 0 {
				end = len(s)
			}
			value = s[:end]
			// A missing ";" before the next parameter: cut at " name=".
			if cut := nextParamStart(value); cut > 0 {
				end = cut
				value = value[:cut]
			}
			s = s[end:]
			value = strings.TrimSpace(value)
		}
		if name != "" {
			out = append(out, rawParam{name, value})
		}
	}
	return out
}

// readQuoted reads a quoted-string body (after the opening quote) and returns
// its value and the rest. A backslash escapes only '"' and '\': Windows paths
// ("C:\temp\a.png") are common in the wild and mean what they say; and in
// raw Shift_JIS text 0x5C may be half of a character (see shiftJISPair).
func readQuoted(s string) (value, rest string) {
	var b strings.Builder
	raw := rawText(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case shiftJISPair(s, i, raw):
			b.WriteByte(c)
			b.WriteByte(s[i+1])
			i++
		case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
			b.WriteByte(s[i+1])
			i++
		case c == '"':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), "" // unterminated: take the rest
}

// nextParamStart finds " name=" inside an unquoted value and returns where the
// whitespace before it starts, or -1.
func nextParamStart(v string) int {
	for i := 0; i < len(v); i++ {
		if v[i] != ' ' && v[i] != '\t' {
			continue
		}
		j := i
		for j < len(v) && (v[j] == ' ' || v[j] == '\t') {
			j++
		}
		k := j
		for k < len(v) && isTokenChar(v[k]) {
			k++
		}
		if k > j && k < len(v) && v[k] == '=' {
			return i
		}
		i = j
	}
	return -1
}

func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && !strings.ContainsRune(`()<>@,;:\"/[]?=`, rune(c))
}

// combineParams applies RFC 2231 (continuations and charsets) and decodes
// values to UTF-8. The first occurrence of a parameter wins.
func combineParams(raw []rawParam, hint textHint) map[string]string {
	type segment struct {
		n        int
		extended bool
		value    string
	}
	params := make(map[string]string, len(raw))
	segments := map[string][]segment{}
	var order []string
	for _, p := range raw {
		name, rest, star := strings.Cut(p.name, "*")
		if !star {
			if _, ok := params[name]; !ok {
				if name == "boundary" {
					params[name] = p.value // compared byte for byte with the body
				} else {
					params[name] = decodeHeaderText(p.value, hint)
				}
			}
			continue
		}
		seg := segment{extended: strings.HasSuffix(rest, "*") || rest == ""}
		num := strings.TrimSuffix(rest, "*")
		if num != "" {
			n, err := strconv.Atoi(num)
			if err != nil || n < 0 || n > 999 {
				continue
			}
			seg.n = n
		}
		seg.value = p.value
		if _, ok := segments[name]; !ok {
			order = append(order, name)
		}
		segments[name] = append(segments[name], seg)
	}
	for _, name := range order {
		segs := segments[name]
		sort.SliceStable(segs, func(i, j int) bool { return segs[i].n < segs[j].n })
		var buf []byte
		charset := ""
		for i, s := range segs {
			if i > 0 && s.n == segs[i-1].n {
				continue // duplicate segment number
			}
			v := s.value
			if s.extended {
				if i == 0 {
					// charset'language'value; tolerate a missing language part.
					if a := strings.IndexByte(v, '\''); a >= 0 {
						charset = v[:a]
						v = v[a+1:]
						if b := strings.IndexByte(v, '\''); b >= 0 {
							v = v[b+1:]
						}
					}
				}
				buf = append(buf, percentDecode(v)...)
			} else {
				buf = append(buf, v...)
			}
		}
		var value string
		if charset != "" {
			value = decodeCharset(buf, charset, hint.locale)
		} else {
			value = decodeHeaderText(string(buf), hint)
		}
		// RFC 2231 wins over a plain parameter of the same name: the plain one
		// is the fallback for old readers and often mangled.
		params[name] = value
	}
	return params
}

func percentDecode(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return b
}
