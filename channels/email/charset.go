package email

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
)

// charsetKind says how a label is decoded. Labels that x/text cannot decode the
// way mail needs (ISO-2022-* with vendor extensions, "ASCII" that is really 8-bit)
// get their own kind instead of an encoding.Encoding.
type charsetKind int

const (
	kindUnknown   charsetKind = iota // absent or unrecognised label: sniff
	kindUTF8                         // utf-8 and us-ascii: sniff only when invalid
	kindISO2022JP                    // our superset decoder (CP5022x, JIS X 0212, SO/SI kana)
	kindISO2022KR                    // our decoder (x/text has none)
	kindUTF7                         // our decoder (x/text has none)
	kindEncoding                     // an x/text encoding
)

// charsetAliases maps labels seen in real mail to the decoder that reads them best.
// Vendor supersets replace the standard sets because mailers label CP932 as
// Shift_JIS and CP949 as EUC-KR all the time, and the superset decodes both.
var charsetAliases = map[string]encoding.Encoding{
	// Japanese. x/text's ShiftJIS is the WHATWG one, i.e. Windows-31J with the
	// NEC and IBM extensions; its EUC-JP decodes NEC row 13 as well.
	"shift_jis": japanese.ShiftJIS, "shift-jis": japanese.ShiftJIS, "sjis": japanese.ShiftJIS,
	"x-sjis": japanese.ShiftJIS, "ms_kanji": japanese.ShiftJIS, "csshiftjis": japanese.ShiftJIS,
	"cp932": japanese.ShiftJIS, "ms932": japanese.ShiftJIS, "windows-31j": japanese.ShiftJIS,
	"x-ms-cp932": japanese.ShiftJIS, "cswindows31j": japanese.ShiftJIS, "x-mac-japanese": japanese.ShiftJIS,
	"shift_jisx0213": japanese.ShiftJIS, "shift_jis-2004": japanese.ShiftJIS, "ibm-943": japanese.ShiftJIS,
	"euc-jp": japanese.EUCJP, "x-euc-jp": japanese.EUCJP, "eucjp": japanese.EUCJP, "ujis": japanese.EUCJP,
	"cseucpkdfmtjapanese": japanese.EUCJP, "euc-jis-2004": japanese.EUCJP, "eucjp-ms": japanese.EUCJP,
	"cp51932": japanese.EUCJP, "x-euc": japanese.EUCJP,
	// Korean. korean.EUCKR is CP949 (Unified Hangul Code), a superset of KS X 1001.
	"euc-kr": korean.EUCKR, "ks_c_5601-1987": korean.EUCKR, "ks_c_5601": korean.EUCKR,
	"ks_c_5601-1989": korean.EUCKR, "ksc5601": korean.EUCKR, "ksc_5601": korean.EUCKR,
	"cp949": korean.EUCKR, "ms949": korean.EUCKR, "windows-949": korean.EUCKR, "uhc": korean.EUCKR,
	"x-windows-949": korean.EUCKR, "korean": korean.EUCKR, "csksc56011987": korean.EUCKR,
	"iso-ir-149": korean.EUCKR, "cseuckr": korean.EUCKR, "x-euc-kr": korean.EUCKR, "euckr": korean.EUCKR,
	// Chinese. GB18030 decodes GBK and GB2312; WHATWG Big5 includes HKSCS.
	"gb2312": simplifiedchinese.GB18030, "gbk": simplifiedchinese.GB18030, "gb18030": simplifiedchinese.GB18030,
	"cp936": simplifiedchinese.GB18030, "ms936": simplifiedchinese.GB18030, "windows-936": simplifiedchinese.GB18030,
	"x-gbk": simplifiedchinese.GB18030, "euc-cn": simplifiedchinese.GB18030, "x-euc-cn": simplifiedchinese.GB18030,
	"csgb2312": simplifiedchinese.GB18030, "chinese": simplifiedchinese.GB18030, "gb_2312-80": simplifiedchinese.GB18030,
	"hz-gb-2312": simplifiedchinese.HZGB2312,
	"big5":       traditionalchinese.Big5, "big5-hkscs": traditionalchinese.Big5, "cn-big5": traditionalchinese.Big5,
	"x-x-big5": traditionalchinese.Big5, "csbig5": traditionalchinese.Big5, "cp950": traditionalchinese.Big5,
	"ms950": traditionalchinese.Big5, "windows-950": traditionalchinese.Big5,
	// Unicode. MIME "utf-16" without a BOM is big-endian (RFC 2781), unlike HTML's.
	"utf-16":   unicode.UTF16(unicode.BigEndian, unicode.UseBOM),
	"utf-16be": unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM),
	"utf-16le": unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM),
	"utf-32":   utf32.UTF32(utf32.BigEndian, utf32.UseBOM),
	"utf-32be": utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM),
	"utf-32le": utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM),
	// Latin-1 is decoded as its superset Windows-1252, as every mail client does.
	"iso-8859-1": charmap.Windows1252, "latin1": charmap.Windows1252, "l1": charmap.Windows1252,
	"iso8859-1": charmap.Windows1252, "iso_8859-1": charmap.Windows1252, "cp1252": charmap.Windows1252,
	"ansi_x3.110-1983": charmap.Windows1252,
}

// lookupCharset is the one place that maps a MIME charset label to a decoder.
func lookupCharset(label string) (charsetKind, encoding.Encoding) {
	l := cleanCharsetLabel(label)
	switch l {
	case "", "unknown", "unknown-8bit", "x-unknown", "default", "x-user-defined", "binary", "8bit", "7bit":
		return kindUnknown, nil
	case "utf-8", "utf8", "x-utf-8", "x-utf_8j", "unicode-1-1-utf-8", "utf-8n",
		"us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us", "csascii", "iso-ir-6", "cp367", "ibm367":
		return kindUTF8, nil
	case "iso-2022-jp", "csiso2022jp", "iso-2022-jp-1", "iso-2022-jp-2", "iso-2022-jp-3", "iso-2022-jp-2004",
		"iso-2022-jp-ms", "cp50220", "cp50221", "cp50222", "x-cp50220", "x-cp50221", "x-cp50222",
		"jis", "x-jis", "csiso2022jp2", "iso2022jp":
		return kindISO2022JP, nil
	case "iso-2022-kr", "csiso2022kr", "iso2022kr":
		return kindISO2022KR, nil
	case "utf-7", "utf7", "unicode-1-1-utf-7", "csunicode11utf7", "x-utf-7":
		return kindUTF7, nil
	}
	if enc, ok := charsetAliases[l]; ok {
		return kindEncoding, enc
	}
	if enc, err := htmlindex.Get(l); err == nil && enc != nil && enc != encoding.Replacement {
		return kindEncoding, enc
	}
	if enc, err := ianaindex.MIME.Encoding(l); err == nil && enc != nil {
		return kindEncoding, enc
	}
	return kindUnknown, nil
}

// cleanCharsetLabel lower-cases a label and cuts the junk mailers put around it:
// quotes, trailing ";", "format=flowed" run into the value, RFC 2231 "*lang".
func cleanCharsetLabel(label string) string {
	l := strings.ToLower(strings.TrimSpace(label))
	l = strings.Trim(l, "\"' ")
	end := 0
	for end < len(l) {
		c := l[end]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':' {
			end++
			continue
		}
		break
	}
	return l[:end]
}

// decodeCharset converts b from the labelled charset to valid UTF-8. It never
// fails: labels are second-guessed when the bytes contradict them (see
// detect.go; locale breaks ties), unknown labels are sniffed, and bytes that
// still do not decode become U+FFFD.
func decodeCharset(b []byte, label string, locale lang) string {
	kind, enc := lookupCharset(label)
	switch kind {
	case kindISO2022JP:
		if hasHighBytes(b) && !bytes.Contains(b, []byte{0x1b}) {
			// Shift_JIS or UTF-8 labelled as ISO-2022-JP (some mobile mailers
			// and Japanese webmailers do this).
			return sniffCharset(b, locale)
		}
		return decodeISO2022JP(b)
	case kindISO2022KR:
		return decodeISO2022KR(b)
	case kindUTF7:
		return decodeUTF7(b)
	case kindEncoding:
		if c, ok := guessable(enc); ok && hasHighBytes(b) && (c.lang != latinLang || hasHighByteRun(b)) {
			return decodeAs(b, detectCharset(b, &c, locale))
		}
		s, err := enc.NewDecoder().Bytes(b)
		if err != nil {
			return sniffCharset(b, locale)
		}
		return toValidUTF8(s)
	case kindUTF8:
		if utf8.Valid(b) && !hasISO2022Escape(b) {
			return string(b)
		}
		if mostlyUTF8(b) {
			// UTF-8 with a few broken bytes: keep it UTF-8 rather than
			// reinterpreting everything.
			return toValidUTF8(b)
		}
		return sniffCharset(b, locale)
	}
	return sniffCharset(b, locale)
}

// sniffCharset decodes bytes whose charset is absent or wrong: JIS escapes
// first (Japanese mail is often sent 7-bit with no label), then the
// candidate that reads best (detect.go).
func sniffCharset(b []byte, locale lang) string {
	if hasISO2022Escape(b) {
		if bytes.Contains(b, []byte("\x1b$)C")) {
			return decodeISO2022KR(b)
		}
		return decodeISO2022JP(b)
	}
	if !hasHighBytes(b) {
		return string(b)
	}
	return decodeAs(b, detectCharset(b, nil, locale))
}

// decodeAs decodes b with a detected candidate.
func decodeAs(b []byte, c candidate) string {
	if c.enc == nil {
		return toValidUTF8(b)
	}
	s, _ := c.enc.NewDecoder().Bytes(b)
	return toValidUTF8(s)
}

// hasHighByteRun reports two 8-bit bytes in a row. Text in a double-byte
// charset has them in nearly every character; Latin text whose 8-bit bytes
// all stand alone ("café", "naïve") cannot be one, and its Latin label is
// kept without decoding every candidate.
func hasHighByteRun(b []byte) bool {
	for i := 1; i < len(b); i++ {
		if b[i] >= 0x80 && b[i-1] >= 0x80 {
			return true
		}
	}
	return false
}

func hasHighBytes(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// hasISO2022Escape reports an ISO-2022 designation sequence (ESC $ B, ESC $ @,
// ESC ( J, ESC $ ) C …), which marks 7-bit JIS or ISO-2022-KR text.
func hasISO2022Escape(b []byte) bool {
	for i := bytes.IndexByte(b, 0x1b); i >= 0 && i+2 < len(b); {
		if b[i+1] == '$' || (b[i+1] == '(' && (b[i+2] == 'B' || b[i+2] == 'J' || b[i+2] == 'I')) {
			return true
		}
		j := bytes.IndexByte(b[i+1:], 0x1b)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// mostlyUTF8 reports whether b has more well-formed multi-byte UTF-8
// sequences than stray bytes: legacy text produces the odd valid sequence by
// accident, damaged UTF-8 the odd invalid byte.
func mostlyUTF8(b []byte) bool {
	valid, invalid := 0, 0
	for len(b) > 0 {
		if b[0] < utf8.RuneSelf {
			b = b[1:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			invalid++
		} else {
			valid++
		}
		b = b[size:]
	}
	return valid > 0 && valid >= invalid
}

func toValidUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// CharsetReader converts input in the labelled charset to UTF-8 with the same
// rules as Parse. Its signature fits mime.WordDecoder.CharsetReader and
// go-message's message.CharsetReader, so an IMAP client decoding envelopes can
// share it; this package never sets go-message's global itself (see parse.go).
func CharsetReader(label string, input io.Reader) (io.Reader, error) {
	b, err := io.ReadAll(input)
	if err != nil {
		return nil, err
	}
	return strings.NewReader(decodeCharset(b, label, anyLang)), nil
}
