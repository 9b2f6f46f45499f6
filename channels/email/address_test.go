package email

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAddressList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []Address
	}{
		{"name and address", `"Doe, John" <john@example.com>`, []Address{{"Doe, John", "john@example.com"}}},
		{"unquoted dot", `John Q. Public <jq@example.com>, mary@example.com`, []Address{{"John Q. Public", "jq@example.com"}, {"", "mary@example.com"}}},
		{"comment name", `jdoe@example.org (John Doe)`, []Address{{"John Doe", "jdoe@example.org"}}},
		{"group", `team: a@example.com, b@example.com;, c@example.com`, []Address{{"", "a@example.com"}, {"", "b@example.com"}, {"", "c@example.com"}}},
		{"undisclosed", `undisclosed-recipients:;`, nil},
		{"encoded name in quotes", `"=?UTF-8?B?5bGx55Sw?=" <y@example.jp>`, []Address{{"山田", "y@example.jp"}}},
		{"semicolons", `a@example.com; b@example.com`, []Address{{"", "a@example.com"}, {"", "b@example.com"}}},
		{"comments in address", `John <jdoe@machine(comment).  example>`, []Address{{"John", "jdoe@machine.example"}}},
		{"two bare addresses, no comma", `a@example.com b@example.com`, []Address{{"", "a@example.com"}, {"", "b@example.com"}}},
		{"two named addresses, no comma", `A <a@example.com> B <b@example.com>`, []Address{{"A", "a@example.com"}, {"B", "b@example.com"}}},
		{"address as display name", `a@example.com <a@example.com>`, []Address{{"a@example.com", "a@example.com"}}},
		{"bare address with a name before it", `John Smith john@example.com`, []Address{{"John Smith", "john@example.com"}}},
		{"comment form", `MAILER-DAEMON@mx.example (Mail Delivery System)`, []Address{{"Mail Delivery System", "MAILER-DAEMON@mx.example"}}},
		{"comment form without domain", `MAILER-DAEMON (Mail Delivery System)`, []Address{{"Mail Delivery System", "MAILER-DAEMON"}}},
		{"comment forms, no comma", `a@example.com (A) b@example.com (B)`, []Address{{"A", "a@example.com"}, {"B", "b@example.com"}}},
		{"a phrase alone is no mailbox", `Mary Smith`, nil},
		{"quoted local part, needless quotes", `"john.doe"@example.com`, []Address{{"", "john.doe@example.com"}}},
		{"quoted local part with a space", `"a b"@example.org`, []Address{{"", `"a b"@example.org`}}},
		{"quoted local part in angles", `Jane <"jane.doe"@example.com>`, []Address{{"Jane", "jane.doe@example.com"}}},
		{"quoted local part with an at", `<"a@b"@example.org>`, []Address{{"", `"a@b"@example.org`}}},
		{"obsolete spaces around dots", `Mary <@machine.tld:mary@example.net>, , jdoe@test   . example`,
			[]Address{{"Mary", "mary@example.net"}, {"", "jdoe@test.example"}}},
		{"doubled angles", `<<a@example.com>>`, []Address{{"", "a@example.com"}}},
		{"unclosed angle", `Name <a@example.com`, []Address{{"Name", "a@example.com"}}},
		{"stray closing angle", `a@example.com>`, []Address{{"", "a@example.com"}}},
		{"at inside a quoted name", `"a@example.com" <b@example.com>`, []Address{{"a@example.com", "b@example.com"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, parseAddressList(tt.in, textHint{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestAddressFixtures: address headers as real mailers write them, through
// Parse. The sender is the first valid mailbox, never two glued together.
func TestAddressFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		from    Address
		to      []Address
		cc      []Address
		replyTo []Address
	}{
		{file: "address_from_two.eml", from: Address{"", "orders@shop.example"}},
		{file: "address_from_two_named.eml", from: Address{"Shop Orders", "orders@shop.example"}},
		{file: "address_mailer_daemon.eml", from: Address{"Mail Delivery System", "MAILER-DAEMON"}},
		{file: "address_quoted_local.eml", from: Address{"", "john.doe@example.com"},
			to: []Address{{"", `"a b"@example.org`}, {"", "support@example.test"}},
			cc: []Address{{"Doe, Jane", "jane.doe@example.com"}}},
		{file: "address_stray_angles.eml", from: Address{"", "tanaka@example.jp"},
			to:      []Address{{"", "support@example.test"}},
			cc:      []Address{{"", "sato@example.jp"}, {"", "kato@example.jp"}},
			replyTo: []Address{{"Tanaka Ichiro", "tanaka.reply@example.jp"}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			p := parseFixture(t, tt.file)
			if p.From != tt.from {
				t.Errorf("from = %+v, want %+v", p.From, tt.from)
			}
			for _, l := range []struct {
				name      string
				got, want []Address
			}{{"to", p.To, tt.to}, {"cc", p.Cc, tt.cc}, {"reply-to", p.ReplyTo, tt.replyTo}} {
				if l.want == nil {
					continue
				}
				if diff := cmp.Diff(l.want, l.got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", l.name, diff)
				}
			}
		})
	}
	// The mailer daemon's comment form still reads as a bounce.
	if p := parseFixture(t, "address_mailer_daemon.eml"); !p.Bounce {
		t.Error("MAILER-DAEMON (Mail Delivery System) not taken for a bounce")
	}
}

func TestUnclosedComment(t *testing.T) {
	t.Parallel()
	want := []Address{{"Mail Delivery System", "mailer-daemon@example.net"}}
	if diff := cmp.Diff(want, parseAddressList("mailer-daemon@example.net (Mail Delivery System", textHint{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
