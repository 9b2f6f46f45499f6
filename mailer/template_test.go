package mailer

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// sample is a ticket as the golden files show it.
func sample(locale string) Data {
	d := Data{
		Ticket:   TicketData{Number: 42, Marker: "[CT-42]", Status: "resolved", Priority: "normal"},
		Service:  Person{Name: "サポート窓口", Address: "support@example.test"},
		Customer: Person{Address: "customer@example.test"},
		Links:    []Link{{Label: "FAQ", URL: "https://help.example.test/faq?a=1&b=2"}},
	}
	switch locale {
	case "ja":
		d.Ticket.Subject = "ログインできません"
		d.Customer.Name = "山田 太郎"
		d.Note = "パスワード再設定のリンクをお送りしました。\n24時間以内にお手続きください。"
	case "ko":
		d.Ticket.Subject = "결제 오류 문의"
		d.Service.Name = "고객센터"
		d.Customer.Name = "김민수"
		d.Note = "결제가 정상적으로 취소되었습니다.\n영업일 기준 3일 이내에 환불됩니다."
	default:
		d.Ticket.Subject = "Cannot log in"
		d.Service.Name = "Example Support"
		d.Customer.Name = "Jane <Doe> & Co"
		d.Note = "We have sent you a link to reset your password.\nIt is valid for 24 hours."
	}
	return d
}

func TestDefaultTemplatesGolden(t *testing.T) {
	t.Parallel()
	r := NewRenderer()
	for _, locale := range []string{"ja", "ko", "en"} {
		for _, kind := range Kinds {
			name := locale + "_" + string(kind)
			t.Run(name, func(t *testing.T) {
				tmpl, got, err := Select(kind, locale, nil)
				if err != nil || got != locale {
					t.Fatalf("Select(%s, %s) = %s, %v", kind, locale, got, err)
				}
				if err := Check(kind, locale, tmpl); err != nil {
					t.Fatalf("built-in template does not check: %v", err)
				}
				out, err := r.Render(kind, locale, tmpl, sample(locale))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasSuffix(out.Subject, " [CT-42]") || !strings.HasPrefix(out.Subject, "Re: ") {
					t.Errorf("subject %q lacks Re: or the marker", out.Subject)
				}
				golden(t, name+".txt", "Subject: "+out.Subject+"\n\n"+out.Text)
				golden(t, name+".html", out.HTML)
				if locale == "en" && (!strings.Contains(out.HTML, "Jane &lt;Doe&gt; &amp; Co") || strings.Contains(out.HTML, "<Doe>")) {
					t.Errorf("HTML does not escape the customer's name:\n%s", out.HTML)
				}
				if !strings.Contains(out.HTML, `href="https://help.example.test/faq?a=1&amp;b=2"`) {
					t.Errorf("HTML lacks the escaped link:\n%s", out.HTML)
				}
			})
		}
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./mailer -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-golden +got; refresh with -update):\n%s", path, diff)
	}
}

func TestCheckReportsUnknownFieldsAndSyntax(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		tmpl     Template
		wantPart string
		wantMsg  string
	}{
		{"unknown field in subject", Template{Subject: "{{.Ticket.Title}}", Text: "x"}, "subject", "Title"},
		{"unknown field in a branch only taken with data", Template{Subject: "s", Text: "{{if .Note}}{{.Nope}}{{end}}"}, "text", "Nope"},
		{"unknown field in a range", Template{Subject: "s", Text: "x", HTML: "{{range .Links}}{{.Href}}{{end}}"}, "html", "Href"},
		{"unknown field when empty", Template{Subject: "s", Text: "{{if not .Note}}{{.Customer.Email}}{{end}}"}, "text", "Email"},
		{"syntax", Template{Subject: "s", Text: "{{.Note"}, "text", "unclosed action"},
		{"unknown function", Template{Subject: "s", Text: "x", HTML: "{{shout .Note}}"}, "html", "shout"},
		{"empty text", Template{Subject: "s"}, "text", "is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(KindHold, "ko", tc.tmpl)
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("Check = %v, want a *TemplateError", err)
			}
			if te.Kind != KindHold || te.Locale != "ko" || te.Part != tc.wantPart || !strings.Contains(te.Err.Error(), tc.wantMsg) {
				t.Fatalf("got %s/%s %s: %v; want part %s mentioning %q", te.Kind, te.Locale, te.Part, te.Err, tc.wantPart, tc.wantMsg)
			}
			if !strings.Contains(err.Error(), "template hold/ko "+tc.wantPart) {
				t.Errorf("message %q does not say where", err)
			}
		})
	}
	if err := Check(KindResolve, "ja", Template{Subject: "{{.Ticket.Marker}} {{.Ticket.Subject}}",
		Text: "{{.Customer.Name}} {{.Customer.Address}} {{.Note}} {{.Service.Name}} {{.Service.Address}} {{.Ticket.Number}} {{.Ticket.Status}} {{.Ticket.Priority}}{{range .Links}}{{.Label}}{{.URL}}{{end}}"}); err != nil {
		t.Errorf("a template using every field: %v", err)
	}
}

func TestRenderErrorNamesServiceKindLocale(t *testing.T) {
	t.Parallel()
	_, err := NewRenderer().Render(KindResolve, "en", Template{Subject: "s", Text: "{{.Ticket.Nope}}"}, sample("en"))
	var te *TemplateError
	if !errors.As(err, &te) || te.Part != "text" || te.Locale != "en" || te.Kind != KindResolve {
		t.Fatalf("Render = %v", err)
	}
	te.Service = "support"
	if !strings.HasPrefix(te.Error(), "service support: template resolve/en text:") {
		t.Errorf("Error() = %q", te.Error())
	}
}

func TestSelectFallsBack(t *testing.T) {
	t.Parallel()
	custom := map[string]Template{"en": {Subject: "custom en", Text: "x"}}
	for _, tc := range []struct {
		locale     string
		custom     map[string]Template
		wantLocale string
		wantCustom bool
	}{
		{"ko", nil, "ko", false},
		{"fr", nil, "ja", false},    // service locale → ja
		{"fr", custom, "ja", false}, // ja (built-in) before en (custom)
		{"en", custom, "en", true},  // the service's own form wins
		{"", nil, "ja", false},      // no locale
		{"ja", map[string]Template{"ja": {Subject: "mine", Text: "y"}}, "ja", true},
	} {
		tmpl, loc, err := Select(KindResolve, tc.locale, tc.custom)
		if err != nil || loc != tc.wantLocale || (tc.wantCustom != (tmpl == tc.custom[loc])) {
			t.Errorf("Select(%q) = %q custom=%v, %v; want %q custom=%v", tc.locale, loc, tmpl == tc.custom[loc], err, tc.wantLocale, tc.wantCustom)
		}
	}
}

func TestRenderKeepsSubjectOnOneLine(t *testing.T) {
	t.Parallel()
	d := sample("en")
	d.Ticket.Subject = "Help\r\nBcc: victim@example.test\n\tnow"
	out, err := NewRenderer().Render(KindHold, "en", Template{Subject: "Re: {{.Ticket.Subject}}", Text: "{{.Note}}"}, d)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Re: Help Bcc: victim@example.test now [CT-42]"; out.Subject != want {
		t.Errorf("subject %q, want %q", out.Subject, want)
	}
}
