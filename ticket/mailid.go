package ticket

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// NewMailMessageID returns the Message-ID (without angle brackets) of a mail we
// send about ticket id: ct-<id>-<16 hex>@<domain of the service address>. The
// ticket token lets a customer's reply, whose In-Reply-To names it, find its
// ticket even when the subject was changed.
func NewMailMessageID(id int64, serviceAddress string) string {
	b := make([]byte, 8)
	rand.Read(b)
	domain := "contiple.invalid"
	if _, d, ok := strings.Cut(serviceAddress, "@"); ok && d != "" {
		domain = d
	}
	return fmt.Sprintf("ct-%d-%s@%s", id, hex.EncodeToString(b), domain)
}

// Marker is the ticket marker carried in subjects of our mails and Dooray! tasks.
func Marker(id int64) string { return fmt.Sprintf("[CT-%d]", id) }
