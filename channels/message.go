package channels

import "time"

// Message is one inbound message as the ticket store needs it, whatever channel
// it came by. Channels fill what they know; the jobs package threads it.
type Message struct {
	Channel    string // "email", later "chat", "helpcenter" …
	ExternalID string // the channel's id of the message (an email's Message-ID)
	Subject    string
	From       Party
	ReplyTo    []Party
	Text       string // full text, history included
	ReplyText  string // the customer's new text, without quoted history
	HTML       string // sanitised for display
	Date       time.Time

	// ThreadIDs are ids of earlier messages this one answers, most specific
	// first (In-Reply-To, then References newest to oldest).
	ThreadIDs  []string
	InReplyTo  string
	References []string

	Attachments []Attachment

	// Automatic is mail no person wrote (auto-replies, lists, bulk); Reason says how we know.
	Automatic bool
	Reason    string
	// Bounce is set for a delivery report.
	Bounce *Bounce

	// Fingerprint is a digest of what the sender wrote, without what relays
	// add: with ExternalID it recognises copies of one message.
	Fingerprint string
}

// Party is a sender or recipient.
type Party struct {
	Name    string
	Address string
}

// Attachment is a file or inline image of a message. Omitted ones were larger
// than the limit: Data is nil and only the name and size are known.
type Attachment struct {
	Filename    string
	ContentType string
	ContentID   string
	Inline      bool
	Size        int64
	Omitted     bool
	Data        []byte
}

// Bounce is a delivery report: which of our messages failed, for whom.
type Bounce struct {
	OriginalID string
	Failed     []FailedRecipient
	// Report is set for a standard delivery report: then no failed recipient
	// means the mail was only delayed or relayed. A bounce written as plain
	// text (qmail, appliances) may name no recipient and still be a failure.
	Report bool
}

// FailedRecipient is one address a delivery report says failed.
type FailedRecipient struct {
	Address    string
	Status     string // RFC 3463, e.g. 5.1.1
	Diagnostic string
}
