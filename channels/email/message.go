package email

import "github.com/contiple/contiple-worker/channels"

// Message returns the parsed mail as the channel-neutral inbound message.
// Attachment data is shared, not copied.
func (p *Parsed) Message() channels.Message {
	m := channels.Message{
		Channel:    "email",
		ExternalID: p.MessageID,
		Subject:    p.Subject,
		From:       channels.Party{Name: p.From.Name, Address: p.From.Address},
		Text:       p.Text,
		ReplyText:  p.ReplyText,
		OnlyQuotes: p.OnlyQuotes,
		HTML:       p.HTML,
		Date:       p.Time,
		ThreadIDs:  p.ThreadIDs(),
		InReplyTo:  p.InReplyTo,
		References: p.References,
		Automatic:  p.AutoSubmitted,
		Reason:     p.AutoReason,
	}
	for _, a := range p.ReplyTo {
		m.ReplyTo = append(m.ReplyTo, channels.Party{Name: a.Name, Address: a.Address})
	}
	for _, a := range p.Attachments {
		m.Attachments = append(m.Attachments, channels.Attachment{Filename: a.Filename, ContentType: a.ContentType,
			ContentID: a.ContentID, Inline: a.Inline, Size: a.Size, Omitted: a.Omitted, Data: a.Data})
	}
	if p.Bounce {
		b := &channels.Bounce{OriginalID: p.BounceOriginalMessageID, Report: p.BounceDSN}
		for _, r := range p.BounceFailedRecipients {
			b.Failed = append(b.Failed, channels.FailedRecipient{Address: r.Address, Status: r.Status, Diagnostic: r.Diagnostic})
		}
		m.Bounce = b
	}
	return m
}
