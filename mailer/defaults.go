package mailer

import "slices"

// Default returns the built-in template of kind in locale (ja, ko or en).
func Default(kind Kind, locale string) (Template, bool) {
	t, ok := defaults[locale][kind]
	return t, ok
}

// DefaultLocales are the locales with built-in templates.
func DefaultLocales() []string {
	var ls []string
	for l := range defaults {
		ls = append(ls, l)
	}
	slices.Sort(ls)
	return ls
}

// The built-in forms. The note is the operator's own text; the template only
// frames it politely. HTML bodies are deliberately plain (no images, no CSS
// files) so that they read the same in every client.
var defaults = map[string]map[Kind]Template{
	"ja": {
		KindResolve: {
			Subject: `Re: {{.Ticket.Subject}}`,
			Text: `{{if .Customer.Name}}{{.Customer.Name}} 様{{else}}お客様{{end}}

いつも{{.Service.Name}}をご利用いただき、誠にありがとうございます。
お問い合わせいただいた件について、ご回答いたします。

{{.Note}}

以上をもちまして、本件は解決とさせていただきます。
ご不明な点やお困りのことがございましたら、このメールにそのままご返信ください。
{{- if .Links}}

関連情報:
{{- range .Links}}
・{{.Label}}: {{.URL}}
{{- end}}
{{- end}}

今後とも{{.Service.Name}}をよろしくお願いいたします。

--
{{.Service.Name}}
{{.Service.Address}}
お問い合わせ番号: {{.Ticket.Marker}}
`,
			HTML: `<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>{{.Ticket.Subject}}</title></head>
<body style="font-family: sans-serif; line-height: 1.6;">
<p>{{if .Customer.Name}}{{.Customer.Name}} 様{{else}}お客様{{end}}</p>
<p>いつも{{.Service.Name}}をご利用いただき、誠にありがとうございます。<br>
お問い合わせいただいた件について、ご回答いたします。</p>
<div style="white-space: pre-wrap; border-left: 3px solid #ccc; padding-left: 1em;">{{.Note}}</div>
<p>以上をもちまして、本件は解決とさせていただきます。<br>
ご不明な点やお困りのことがございましたら、このメールにそのままご返信ください。</p>
{{- if .Links}}
<ul>{{range .Links}}<li><a href="{{.URL}}">{{.Label}}</a></li>{{end}}</ul>
{{- end}}
<p>今後とも{{.Service.Name}}をよろしくお願いいたします。</p>
<p style="color: #666;">{{.Service.Name}}<br>{{.Service.Address}}<br>お問い合わせ番号: {{.Ticket.Marker}}</p>
</body></html>
`,
		},
		KindHold: {
			Subject: `Re: {{.Ticket.Subject}}`,
			Text: `{{if .Customer.Name}}{{.Customer.Name}} 様{{else}}お客様{{end}}

いつも{{.Service.Name}}をご利用いただき、誠にありがとうございます。
お問い合わせいただいた件について、現在確認を進めております。

{{.Note}}

確認に少々お時間をいただいており、大変申し訳ございません。
進展がございましたら、あらためてご連絡いたします。
追加の情報がございましたら、このメールにそのままご返信ください。
{{- if .Links}}

関連情報:
{{- range .Links}}
・{{.Label}}: {{.URL}}
{{- end}}
{{- end}}

何卒よろしくお願いいたします。

--
{{.Service.Name}}
{{.Service.Address}}
お問い合わせ番号: {{.Ticket.Marker}}
`,
			HTML: `<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>{{.Ticket.Subject}}</title></head>
<body style="font-family: sans-serif; line-height: 1.6;">
<p>{{if .Customer.Name}}{{.Customer.Name}} 様{{else}}お客様{{end}}</p>
<p>いつも{{.Service.Name}}をご利用いただき、誠にありがとうございます。<br>
お問い合わせいただいた件について、現在確認を進めております。</p>
<div style="white-space: pre-wrap; border-left: 3px solid #ccc; padding-left: 1em;">{{.Note}}</div>
<p>確認に少々お時間をいただいており、大変申し訳ございません。<br>
進展がございましたら、あらためてご連絡いたします。<br>
追加の情報がございましたら、このメールにそのままご返信ください。</p>
{{- if .Links}}
<ul>{{range .Links}}<li><a href="{{.URL}}">{{.Label}}</a></li>{{end}}</ul>
{{- end}}
<p>何卒よろしくお願いいたします。</p>
<p style="color: #666;">{{.Service.Name}}<br>{{.Service.Address}}<br>お問い合わせ番号: {{.Ticket.Marker}}</p>
</body></html>
`,
		},
	},
	"ko": {
		KindResolve: {
			Subject: `Re: {{.Ticket.Subject}}`,
			Text: `안녕하세요, {{if .Customer.Name}}{{.Customer.Name}} 고객님{{else}}고객님{{end}}.

{{.Service.Name}}에 문의해 주셔서 진심으로 감사드립니다.
문의하신 내용에 대해 다음과 같이 답변드립니다.

{{.Note}}

이상으로 문의하신 건은 해결 처리되었습니다.
추가로 궁금하신 점이 있으시면 이 메일에 회신해 주시기 바랍니다.
{{- if .Links}}

관련 안내:
{{- range .Links}}
- {{.Label}}: {{.URL}}
{{- end}}
{{- end}}

앞으로도 {{.Service.Name}}에 많은 관심 부탁드립니다.
감사합니다.

--
{{.Service.Name}}
{{.Service.Address}}
문의 번호: {{.Ticket.Marker}}
`,
			HTML: `<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8"><title>{{.Ticket.Subject}}</title></head>
<body style="font-family: sans-serif; line-height: 1.6;">
<p>안녕하세요, {{if .Customer.Name}}{{.Customer.Name}} 고객님{{else}}고객님{{end}}.</p>
<p>{{.Service.Name}}에 문의해 주셔서 진심으로 감사드립니다.<br>
문의하신 내용에 대해 다음과 같이 답변드립니다.</p>
<div style="white-space: pre-wrap; border-left: 3px solid #ccc; padding-left: 1em;">{{.Note}}</div>
<p>이상으로 문의하신 건은 해결 처리되었습니다.<br>
추가로 궁금하신 점이 있으시면 이 메일에 회신해 주시기 바랍니다.</p>
{{- if .Links}}
<ul>{{range .Links}}<li><a href="{{.URL}}">{{.Label}}</a></li>{{end}}</ul>
{{- end}}
<p>앞으로도 {{.Service.Name}}에 많은 관심 부탁드립니다.<br>감사합니다.</p>
<p style="color: #666;">{{.Service.Name}}<br>{{.Service.Address}}<br>문의 번호: {{.Ticket.Marker}}</p>
</body></html>
`,
		},
		KindHold: {
			Subject: `Re: {{.Ticket.Subject}}`,
			Text: `안녕하세요, {{if .Customer.Name}}{{.Customer.Name}} 고객님{{else}}고객님{{end}}.

{{.Service.Name}}에 문의해 주셔서 진심으로 감사드립니다.
문의하신 내용은 현재 확인 중에 있습니다.

{{.Note}}

답변이 늦어지는 점 너그러운 양해 부탁드립니다.
확인이 완료되는 대로 다시 안내해 드리겠습니다.
추가로 전달하실 내용이 있으시면 이 메일에 회신해 주시기 바랍니다.
{{- if .Links}}

관련 안내:
{{- range .Links}}
- {{.Label}}: {{.URL}}
{{- end}}
{{- end}}

감사합니다.

--
{{.Service.Name}}
{{.Service.Address}}
문의 번호: {{.Ticket.Marker}}
`,
			HTML: `<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8"><title>{{.Ticket.Subject}}</title></head>
<body style="font-family: sans-serif; line-height: 1.6;">
<p>안녕하세요, {{if .Customer.Name}}{{.Customer.Name}} 고객님{{else}}고객님{{end}}.</p>
<p>{{.Service.Name}}에 문의해 주셔서 진심으로 감사드립니다.<br>
문의하신 내용은 현재 확인 중에 있습니다.</p>
<div style="white-space: pre-wrap; border-left: 3px solid #ccc; padding-left: 1em;">{{.Note}}</div>
<p>답변이 늦어지는 점 너그러운 양해 부탁드립니다.<br>
확인이 완료되는 대로 다시 안내해 드리겠습니다.<br>
추가로 전달하실 내용이 있으시면 이 메일에 회신해 주시기 바랍니다.</p>
{{- if .Links}}
<ul>{{range .Links}}<li><a href="{{.URL}}">{{.Label}}</a></li>{{end}}</ul>
{{- end}}
<p>감사합니다.</p>
<p style="color: #666;">{{.Service.Name}}<br>{{.Service.Address}}<br>문의 번호: {{.Ticket.Marker}}</p>
</body></html>
`,
		},
	},
	"en": {
		KindResolve: {
			Subject: `Re: {{.Ticket.Subject}}`,
			Text: `{{if .Customer.Name}}Dear {{.Customer.Name}},{{else}}Hello,{{end}}

Thank you for contacting {{.Service.Name}}.
Here is our answer to your request:

{{.Note}}

We consider this request resolved. If anything is still unclear or the
problem comes back, simply reply to this email and we will pick it up again.
{{- if .Links}}

You may also find these useful:
{{- range .Links}}
- {{.Label}}: {{.URL}}
{{- end}}
{{- end}}

Kind regards,

--
{{.Service.Name}}
{{.Service.Address}}
Reference: {{.Ticket.Marker}}
`,
			HTML: `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Ticket.Subject}}</title></head>
<body style="font-family: sans-serif; line-height: 1.6;">
<p>{{if .Customer.Name}}Dear {{.Customer.Name}},{{else}}Hello,{{end}}</p>
<p>Thank you for contacting {{.Service.Name}}.<br>
Here is our answer to your request:</p>
<div style="white-space: pre-wrap; border-left: 3px solid #ccc; padding-left: 1em;">{{.Note}}</div>
<p>We consider this request resolved. If anything is still unclear or the
problem comes back, simply reply to this email and we will pick it up again.</p>
{{- if .Links}}
<ul>{{range .Links}}<li><a href="{{.URL}}">{{.Label}}</a></li>{{end}}</ul>
{{- end}}
<p>Kind regards,</p>
<p style="color: #666;">{{.Service.Name}}<br>{{.Service.Address}}<br>Reference: {{.Ticket.Marker}}</p>
</body></html>
`,
		},
		KindHold: {
			Subject: `Re: {{.Ticket.Subject}}`,
			Text: `{{if .Customer.Name}}Dear {{.Customer.Name}},{{else}}Hello,{{end}}

Thank you for contacting {{.Service.Name}}.
We are still looking into your request:

{{.Note}}

We are sorry it is taking a little longer. We will write again as soon as we
know more. If you have anything to add, simply reply to this email.
{{- if .Links}}

You may also find these useful:
{{- range .Links}}
- {{.Label}}: {{.URL}}
{{- end}}
{{- end}}

Kind regards,

--
{{.Service.Name}}
{{.Service.Address}}
Reference: {{.Ticket.Marker}}
`,
			HTML: `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Ticket.Subject}}</title></head>
<body style="font-family: sans-serif; line-height: 1.6;">
<p>{{if .Customer.Name}}Dear {{.Customer.Name}},{{else}}Hello,{{end}}</p>
<p>Thank you for contacting {{.Service.Name}}.<br>
We are still looking into your request:</p>
<div style="white-space: pre-wrap; border-left: 3px solid #ccc; padding-left: 1em;">{{.Note}}</div>
<p>We are sorry it is taking a little longer. We will write again as soon as we
know more. If you have anything to add, simply reply to this email.</p>
{{- if .Links}}
<ul>{{range .Links}}<li><a href="{{.URL}}">{{.Label}}</a></li>{{end}}</ul>
{{- end}}
<p>Kind regards,</p>
<p style="color: #666;">{{.Service.Name}}<br>{{.Service.Address}}<br>Reference: {{.Ticket.Marker}}</p>
</body></html>
`,
		},
	},
}
