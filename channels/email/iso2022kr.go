package email

import "golang.org/x/text/encoding/korean"

// decodeISO2022KR decodes RFC 1557 ISO-2022-KR, which x/text does not provide.
// The designator ESC $ ) C announces KS X 1001 as G1; SO shifts into it and SI
// back to ASCII. In the shifted state each byte pair is KS X 1001, i.e. EUC-KR
// without the high bits, so the pairs are rewritten to EUC-KR and decoded by
// x/text. Lines end in ASCII: a line break also shifts back, as readers do.
func decodeISO2022KR(b []byte) string {
	euc := make([]byte, 0, len(b))
	shifted := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == 0x1b && i+3 < len(b) && b[i+1] == '$' && b[i+2] == ')' && b[i+3] == 'C':
			i += 3
		case c == 0x1b:
			// Any other escape is not ours; drop just the ESC.
		case c == 0x0e:
			shifted = true
		case c == 0x0f:
			shifted = false
		case c == '\r' || c == '\n':
			shifted = false
			euc = append(euc, c)
		case c >= 0x80:
			euc = append(euc, substitute)
		case shifted && c >= 0x21 && c <= 0x7e:
			if i+1 < len(b) && b[i+1] >= 0x21 && b[i+1] <= 0x7e {
				euc = append(euc, c|0x80, b[i+1]|0x80)
				i++
			} else {
				euc = append(euc, substitute)
			}
		default:
			euc = append(euc, c)
		}
	}
	out, err := korean.EUCKR.NewDecoder().Bytes(euc)
	if err != nil {
		return toValidUTF8(euc)
	}
	return replaceSubstitutes(out)
}
