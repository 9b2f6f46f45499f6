package ticket

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// maskReply masks the reply text of a message (the customer's new words, a
// copy of part of the body) wherever the text of a masked span appears in it.
// When a span's text is still there in another form (wrapped differently),
// the reply text is dropped (nil): readers then show the masked body.
func maskReply(reply *string, originals []string) *string {
	if reply == nil || *reply == "" {
		return reply
	}
	r := *reply
	for _, o := range originals {
		r = strings.ReplaceAll(r, o, strings.Repeat(string(MaskRune), len([]rune(o))))
	}
	flat := squeeze(r)
	for _, o := range originals {
		if strings.Contains(flat, squeeze(o)) {
			return nil
		}
	}
	return &r
}

// maskReplyText masks original in the message's reply text, keeping the reply
// text as it was before the first mask sealed (reply_sealed) when there is a key.
func (s *Store) maskReplyText(ctx context.Context, tx pgx.Tx, messageID int64, original string) error {
	var reply *string
	var sealed []byte
	if err := tx.QueryRow(ctx, "SELECT reply_text, reply_sealed FROM ticket_messages WHERE id = $1", messageID).
		Scan(&reply, &sealed); err != nil {
		return err
	}
	masked := maskReply(reply, []string{original})
	if masked == reply || masked != nil && reply != nil && *masked == *reply {
		return nil
	}
	if sealed == nil && s.sealer != nil && reply != nil {
		sealed = s.sealer.Seal([]byte(*reply), replyAD(messageID))
	}
	_, err := tx.Exec(ctx, "UPDATE ticket_messages SET reply_text = $2, reply_sealed = $3 WHERE id = $1", messageID, masked, sealed)
	return err
}

// unmaskReplyText restores the reply text from its sealed copy, masked again
// with the originals of the masks that stay (kept).
func (s *Store) unmaskReplyText(ctx context.Context, tx pgx.Tx, messageID int64, kept []string) error {
	var sealed []byte
	if err := tx.QueryRow(ctx, "SELECT reply_sealed FROM ticket_messages WHERE id = $1", messageID).Scan(&sealed); err != nil {
		return err
	}
	if sealed == nil {
		return nil
	}
	plain, err := s.sealer.Open(sealed, replyAD(messageID))
	if err != nil {
		return err
	}
	reply := string(plain)
	restored := maskReply(&reply, kept)
	if len(kept) == 0 {
		sealed = nil
	}
	_, err = tx.Exec(ctx, "UPDATE ticket_messages SET reply_text = $2, reply_sealed = $3 WHERE id = $1", messageID, restored, sealed)
	return err
}

// replyAD binds a sealed reply text to its message (the span seals use the
// bare message id; the prefix keeps the two apart).
func replyAD(messageID int64) []byte { return []byte("reply:" + strconv.FormatInt(messageID, 10)) }
