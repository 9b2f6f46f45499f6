package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Fingerprint returns a digest (hex SHA-256) of what the sender wrote: the
// From, Date and Subject fields as sent, and the body. Trace fields that each
// relay adds (Received, Return-Path, Delivered-To, DKIM and ARC seals, spam
// verdicts) are left out, so the same mail fetched twice or delivered by two
// routes has one fingerprint, while a different mail that reuses a Message-ID
// (a form plugin with a fixed one, a broken mailer) has another. Line endings
// and trailing blanks, which transports change, do not count.
func Fingerprint(raw []byte) string {
	h, body := readHeader(raw)
	sum := sha256.New()
	for _, name := range []string{"from", "date", "subject"} {
		sum.Write([]byte(name + ":" + strings.Join(strings.Fields(h.get(name)), " ") + "\n"))
	}
	sum.Write([]byte("\n"))
	body = bytes.TrimRight(body, " \t\r\n")
	for len(body) > 0 {
		var line []byte
		line, body = cutLine(body)
		sum.Write(bytes.TrimRight(line, " \t\r\n"))
		sum.Write([]byte("\n"))
	}
	return hex.EncodeToString(sum.Sum(nil))
}
