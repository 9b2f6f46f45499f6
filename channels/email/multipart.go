package email

import (
	"bytes"
)

// splitMultipart returns the raw parts (header and body) of a multipart body.
//
// The message is in memory, so boundaries are found with bytes.Index instead
// of go-message's streaming reader, which is strict where real mail is not: it
// fixes the line ending at the first boundary and gives up on an unexpected
// line. Here a delimiter is "--boundary" at the start of a line followed only
// by optional whitespace (or "--" for the close delimiter); the line break
// before it belongs to the delimiter. A missing close delimiter ends the last
// part at the end of the body; text before the first delimiter (the preamble)
// and after the last (the epilogue) is ignored.
func splitMultipart(body []byte, boundary string) [][]byte {
	if boundary == "" {
		return nil
	}
	delim := []byte("--" + boundary)
	var parts [][]byte
	partStart := -1
	for pos := 0; pos < len(body); {
		i := bytes.Index(body[pos:], delim)
		if i < 0 {
			break
		}
		i += pos
		pos = i + len(delim)
		if i > 0 && body[i-1] != '\n' {
			continue // not at the start of a line
		}
		rest := body[pos:]
		closing := bytes.HasPrefix(rest, []byte("--"))
		if closing {
			rest = rest[2:]
		}
		eol := bytes.IndexByte(rest, '\n')
		tail := rest
		if eol >= 0 {
			tail = rest[:eol]
		}
		if len(bytes.Trim(tail, " \t\r")) != 0 {
			continue // a longer boundary that starts with ours
		}
		if partStart >= 0 {
			end := i
			// The CRLF or LF before the delimiter is part of the delimiter.
			if end > partStart && body[end-1] == '\n' {
				end--
				if end > partStart && body[end-1] == '\r' {
					end--
				}
			}
			parts = append(parts, body[partStart:end])
		}
		if closing {
			return parts
		}
		if eol < 0 {
			return parts
		}
		partStart = len(body) - len(rest) + eol + 1
		pos = partStart
	}
	if partStart >= 0 && partStart <= len(body) {
		parts = append(parts, body[partStart:])
	}
	return parts
}

// sniffBoundary guesses the boundary of a multipart body whose Content-Type
// lost it: the first line that starts with "--" and has something after it.
func sniffBoundary(body []byte) string {
	for len(body) > 0 {
		line, rest := cutLine(body)
		line = bytes.TrimRight(line, " \t\r\n")
		if len(line) > 2 && bytes.HasPrefix(line, []byte("--")) && len(line) <= 200 {
			return string(bytes.TrimSuffix(line[2:], []byte("--")))
		}
		body = rest
	}
	return ""
}
