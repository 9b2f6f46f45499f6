package email

import (
	"strings"

	"golang.org/x/text/encoding/japanese"
)

// decodeISO2022JP decodes 7-bit JIS as a superset of RFC 1468, the way
// Microsoft's CP50220/CP50221 and most Japanese mailers write it:
//
//   - ESC $ B, ESC $ @ and ESC $ ( Q/O (JIS X 0213 plane 1, read as JIS X 0208)
//     select double-byte JIS, including NEC row 13 (①, Ⅰ, ㈱) and the
//     NEC-selected IBM extensions;
//   - ESC $ ( D selects JIS X 0212;
//   - ESC ( I and SO/SI select half-width katakana;
//   - ESC ( B and ESC ( J return to ASCII.
//
// x/text's decoder lacks SO/SI and swallows a CR that follows a double-byte
// run, so the JIS bytes are rewritten to EUC-JP (the same code points with the
// high bit set) and decoded by x/text's EUC-JP tables.
func decodeISO2022JP(b []byte) string {
	const (
		ascii = iota
		jis0208
		jis0212
		kana
	)
	euc := make([]byte, 0, len(b)+len(b)/2)
	state, shifted := ascii, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == 0x1b:
			n, next := jisEscape(b[i:])
			if n == 0 {
				euc = append(euc, substitute)
				continue
			}
			if next >= 0 {
				state = next
			}
			shifted = false
			i += n - 1
			continue
		case c == 0x0e: // SO: half-width katakana (CP50221)
			shifted = true
			continue
		case c == 0x0f: // SI
			shifted = false
			continue
		case c == '\r' || c == '\n':
			// RFC 1468 lines end in ASCII; mailers that forget still mean a line break.
			state, shifted = ascii, false
			euc = append(euc, c)
			continue
		case c >= 0x80:
			euc = append(euc, substitute) // 8-bit byte in a 7-bit encoding: replaced below
			continue
		}
		switch {
		case shifted || state == kana:
			if c >= 0x21 && c <= 0x5f {
				euc = append(euc, 0x8e, c|0x80)
			} else {
				euc = append(euc, c)
			}
		case state == jis0208 || state == jis0212:
			if c < 0x21 || c > 0x7e {
				euc = append(euc, c) // space or control inside a double-byte run
				continue
			}
			if i+1 >= len(b) || b[i+1] < 0x21 || b[i+1] > 0x7e {
				euc = append(euc, substitute)
				continue
			}
			if state == jis0212 {
				euc = append(euc, 0x8f)
			}
			euc = append(euc, c|0x80, b[i+1]|0x80)
			i++
		default:
			euc = append(euc, c)
		}
	}
	out, err := japanese.EUCJP.NewDecoder().Bytes(euc)
	if err != nil {
		return toValidUTF8(euc)
	}
	return replaceSubstitutes(out)
}

// jisEscape returns the length of the escape sequence at the start of b and
// the state it selects (-1 for sequences that change nothing we track). A
// length of 0 means b does not start with a known sequence.
func jisEscape(b []byte) (n, state int) {
	const (
		ascii = iota
		jis0208
		jis0212
		kana
	)
	if len(b) < 3 {
		return 0, -1
	}
	switch {
	case b[1] == '$' && (b[2] == 'B' || b[2] == '@'):
		return 3, jis0208
	case b[1] == '$' && b[2] == '(' && len(b) >= 4:
		switch b[3] {
		case 'D':
			return 4, jis0212
		case 'B', '@', 'Q', 'O', 'P':
			return 4, jis0208
		}
	case b[1] == '(' && (b[2] == 'B' || b[2] == 'J' || b[2] == 'H'):
		return 3, ascii
	case b[1] == '(' && b[2] == 'I':
		return 3, kana
	case b[1] == '$' && b[2] == 'A': // GB 2312 (ISO-2022-JP-2): not supported, keep going
		return 3, -1
	case b[1] == '.' || b[1] == 'N' || b[1] == '$' && b[2] == ')':
		return 3, -1
	}
	return 0, -1
}

// substitute marks an undecodable byte while text is rewritten to EUC; it is
// ASCII SUB, which EUC decoders pass through, and becomes U+FFFD afterwards.
const substitute = 0x1a

func replaceSubstitutes(b []byte) string {
	s := toValidUTF8(b)
	if strings.IndexByte(s, substitute) < 0 {
		return s
	}
	return strings.ReplaceAll(s, string(rune(substitute)), "\uFFFD")
}
