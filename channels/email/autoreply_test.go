package email

import "testing"

// A list relaying a person's mail is not automatic; bulk mail and
// newsletters are.
func TestListMailIsNotAutomaticButNewslettersAre(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, header, reason string
	}{
		{"Google Group", "Precedence: list\nList-ID: <support.example.test>\nList-Post: <mailto:support@example.test>\n" +
			"List-Unsubscribe: <mailto:googlegroups-manage+1+unsubscribe@googlegroups.com>", ""},
		{"Mailman discussion list with one-click", "List-Id: <dev.lists.example.org>\nList-Post: <mailto:dev@lists.example.org>\n" +
			"List-Unsubscribe: <https://lists.example.org/u>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click", ""},
		{"list without markers", "List-Unsubscribe: <mailto:u@example.com>", ""},
		{"bulk", "Precedence: bulk\nList-Post: <mailto:support@example.test>", "Precedence: bulk"},
		{"junk", "Precedence: junk", "Precedence: junk"},
		{"one-click newsletter", "List-Unsubscribe: <https://news.example/u>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click",
			"newsletter: List-Unsubscribe with List-Unsubscribe-Post"},
		{"announcement list", "List-Post: NO (posting not allowed on this list)\nList-Unsubscribe: <mailto:u@example.com>\nFeedback-ID: 1:2:3:esp",
			"newsletter: List-Unsubscribe with Feedback-ID"},
		{"Feedback-ID alone", "Feedback-ID: 1:2:3:esp", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, _ := Parse([]byte("From: a@example.com\nSubject: s\n"+tt.header+"\n\nbody\n"), ParseOptions{})
			if p.AutoSubmitted != (tt.reason != "") || p.AutoReason != tt.reason {
				t.Errorf("auto = %v %q, want %q", p.AutoSubmitted, p.AutoReason, tt.reason)
			}
		})
	}
}
