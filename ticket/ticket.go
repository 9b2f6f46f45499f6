package ticket

import "time"

// Ticket is one customer inquiry. Its ID is the number operators and customers
// see, in the subject marker [CT-<id>].
type Ticket struct {
	ID            int64    `json:"id"`
	Service       string   `json:"service"`
	Subject       string   `json:"subject"`
	Status        Status   `json:"status"`
	Priority      Priority `json:"priority"`
	Channel       Channel  `json:"channel"`
	CustomerName  string   `json:"customer_name"`
	CustomerEmail string   `json:"customer_email"`
	// CustomerFields are the other customer data its intake type carries
	// (customer id, phone …).
	CustomerFields map[string]string `json:"customer_fields"`
	Assignee       string            `json:"assignee"`
	Group          string            `json:"group"`
	Starred        bool              `json:"starred"`
	SourceTicketID *int64            `json:"source_ticket_id,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	ResolvedAt     *time.Time        `json:"resolved_at,omitempty"`
	CompletedAt    *time.Time        `json:"completed_at,omitempty"`
	// FeedbackRequestedAt is set while the service this ticket was transferred
	// to asks its assignee to inform the customer (see RequestFeedback).
	FeedbackRequestedAt *time.Time `json:"feedback_requested_at,omitempty"`
}

// MessageKind says what an entry of the processing history is.
type MessageKind string

const (
	MessageCustomer        MessageKind = "customer"         // from the customer, by any channel
	MessageResolve         MessageKind = "resolve"          // note sent as the resolve mail
	MessageHold            MessageKind = "hold"             // note sent as the hold mail
	MessageComment         MessageKind = "comment"          // internal note
	MessageInternalResolve MessageKind = "internal_resolve" // note of an internal resolve
	MessageEscalation      MessageKind = "escalation"       // content of a Dooray! task
	MessageDoorayOut       MessageKind = "dooray_out"       // our comment on the Dooray! task
	MessageDoorayIn        MessageKind = "dooray_in"        // a comment written in Dooray!
	MessageIssueTransfer   MessageKind = "issue_transfer"   // body handed to another service
	MessageSystem          MessageKind = "system"
)

// Message is one entry of the processing history (相談処理内訳).
type Message struct {
	ID       int64       `json:"id"`
	TicketID int64       `json:"ticket_id"`
	Kind     MessageKind `json:"kind"`
	Author   string      `json:"author"`
	Body     string      `json:"body"` // the full text, quoted history included
	// ReplyText is what the customer wrote anew, without quoted history: what
	// a helpdesk shows first. It is Body where no reply text was read (a
	// message that did not come by mail).
	ReplyText string `json:"reply_text"`
	// QuoteOnly says the mail held nothing but quoted history: ReplyText is empty.
	QuoteOnly     bool      `json:"quote_only,omitempty"`
	HTML          string    `json:"html,omitempty"`
	MailMessageID string    `json:"mail_message_id,omitempty"`
	InReplyTo     string    `json:"in_reply_to,omitempty"`
	References    []string  `json:"references,omitempty"`
	DoorayLogID   string    `json:"dooray_log_id,omitempty"`
	Masks         []Mask    `json:"masks,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}

// Mask is a masked span of a message's body, in characters.
type Mask struct {
	ID       int64  `json:"id"`
	Start    int    `json:"start"`
	End      int    `json:"end"`
	Sealed   bool   `json:"recoverable"` // the original is kept, encrypted
	MaskedBy string `json:"masked_by"`
}

// Event is one entry of a ticket's event log (イベント).
type Event struct {
	ID        int64          `json:"id"`
	TicketID  int64          `json:"ticket_id"`
	Kind      string         `json:"kind"`
	Actor     string         `json:"actor"`
	From      Status         `json:"from_status,omitempty"`
	To        Status         `json:"to_status,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
}

// Outbox kinds are the asynq task types of the side effects a state change owes.
// Other applications may write the outbox too, so these names never change.
const (
	OutboxMailSend       = "mail:send"       // payload {"outbound_mail_id": N}
	OutboxDoorayEscalate = "dooray:escalate" // payload {"dooray_link_id": N}
	OutboxDoorayComment  = "dooray:comment"  // payload {"message_id": N}
)
