package email

import (
	"bytes"
	"net/http"
	"strings"
)

// uuencoded files still arrive from old clients: Outlook Express with its
// "uuencode" setting writes them as begin/end blocks after the text of a
// plain body, and Pegasus Mail, Eudora and some scripts send parts with
// Content-Transfer-Encoding x-uuencode or type application/x-uuencode. There
// is no uudecoder in the standard library or x/; the format is small.

// uuFile is one file decoded from a begin/end block.
type uuFile struct {
	name string
	data []byte
}

// isUuencodeLabel reports a transfer encoding or media type that means the
// body is a uuencoded file.
func isUuencodeLabel(cte, ct string) bool {
	switch cte {
	case "x-uuencode", "uuencode", "x-uue", "uue":
		return true
	}
	switch ct {
	case "application/x-uuencode", "text/x-uuencode", "application/uuencode", "application/x-uue":
		return true
	}
	return false
}

// extractUuencoded cuts every complete begin/end block out of text and
// decodes it. A block counts only when its begin line has a mode and a name,
// every line up to "end" is a well-formed uuencoded line, and there is at
// least one; anything else ("begin 644 is a mode", a truncated block) stays
// text.
func extractUuencoded(text []byte) (rest []byte, files []uuFile) {
	if !bytes.Contains(text, []byte("begin ")) {
		return text, nil
	}
	var out []byte
	pos, lineStart := 0, 0
	for lineStart < len(text) {
		line, next := cutLine(text[lineStart:])
		nextStart := len(text) - len(next)
		name, ok := uuBeginLine(line)
		if !ok {
			lineStart = nextStart
			continue
		}
		data, end, ok := uudecodeBlock(text[nextStart:])
		if !ok {
			lineStart = nextStart
			continue
		}
		out = append(out, text[pos:lineStart]...)
		files = append(files, uuFile{name: name, data: data})
		pos = nextStart + end
		lineStart = pos
	}
	if files == nil {
		return text, nil
	}
	out = append(out, text[pos:]...)
	return out, files
}

// uuBeginLine reads "begin MODE NAME" (MODE three or four octal digits).
func uuBeginLine(line []byte) (name string, ok bool) {
	rest, found := bytes.CutPrefix(bytes.TrimRight(line, " \t\r\n"), []byte("begin "))
	if !found {
		return "", false
	}
	mode, name0, found := bytes.Cut(rest, []byte(" "))
	if !found || len(mode) < 3 || len(mode) > 4 || len(bytes.TrimSpace(name0)) == 0 {
		return "", false
	}
	for _, c := range mode {
		if c < '0' || c > '7' {
			return "", false
		}
	}
	return string(bytes.TrimSpace(name0)), true
}

// uudecodeBlock decodes the lines after a begin line up to and including the
// "end" line, and returns the data and the length consumed.
func uudecodeBlock(b []byte) (data []byte, n int, ok bool) {
	lines := 0
	for off := 0; off < len(b); {
		line, rest := cutLine(b[off:])
		off = len(b) - len(rest)
		l := bytes.TrimRight(line, "\r\n")
		if string(bytes.TrimRight(l, " \t")) == "end" {
			return data, off, lines > 0
		}
		var good bool
		data, good = appendUuLine(data, l)
		if !good {
			return nil, 0, false
		}
		lines++
	}
	return nil, 0, false // no "end": not a block we trust
}

// uudecodePart decodes an x-uuencode body and returns the name its begin
// line gives, if any: the begin line is optional (some parts lack it), and
// "end" closes the file if present.
func uudecodePart(b []byte) (data []byte, name string, ok bool) {
	for len(b) > 0 { // skip blank lines and find the begin line
		line, rest := cutLine(b)
		if len(bytes.TrimSpace(line)) == 0 {
			b = rest
			continue
		}
		if n, isBegin := uuBeginLine(line); isBegin {
			name, b = n, rest
		}
		break
	}
	lines := 0
	for len(b) > 0 {
		line, rest := cutLine(b)
		b = rest
		l := bytes.TrimRight(line, "\r\n")
		if t := bytes.TrimRight(l, " \t"); string(t) == "end" {
			break
		} else if len(t) == 0 && lines > 0 {
			continue
		}
		var good bool
		if data, good = appendUuLine(data, l); !good {
			return nil, "", false
		}
		lines++
	}
	return data, name, lines > 0
}

// appendUuLine decodes one line: a length character, then groups of four
// characters for three bytes each, every character 0x20–0x60 (backtick for
// zero). Relays that strip trailing spaces shorten lines, so missing
// characters count as zero; more than a checksum character too many, or any
// character outside the alphabet, means the line is not uuencoded.
func appendUuLine(dst, line []byte) ([]byte, bool) {
	if len(line) == 0 {
		return dst, true // an empty line: zero bytes, as some encoders end
	}
	n := int((line[0] - 0x20) & 0x3f)
	if line[0] < 0x20 || line[0] > 0x60 {
		return dst, false
	}
	chars := line[1:]
	need := (n + 2) / 3 * 4
	if len(bytes.TrimRight(chars, " ")) > need+1 {
		return dst, false
	}
	val := func(i int) byte {
		if i >= len(chars) {
			return 0
		}
		return (chars[i] - 0x20) & 0x3f
	}
	for _, c := range chars {
		if c < 0x20 || c > 0x60 {
			return dst, false
		}
	}
	for i, written := 0, 0; written < n; i += 4 {
		a, b, c, d := val(i), val(i+1), val(i+2), val(i+3)
		for _, v := range []byte{a<<2 | b>>4, b<<4 | c>>2, c<<6 | d} {
			if written < n {
				dst = append(dst, v)
				written++
			}
		}
	}
	return dst, true
}

// sniffMediaType names the type of a file that came without one (a
// uuencoded block has only a name) from its first bytes.
func sniffMediaType(data []byte) string {
	ct, _, _ := strings.Cut(http.DetectContentType(data), ";")
	return ct
}
