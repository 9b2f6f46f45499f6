package dooray

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// call is one API operation, replayable: its body is kept as bytes so that a
// retry or a 307 can send it again.
type call struct {
	method      string
	path        string
	query       url.Values
	body        []byte
	contentType string
	// idempotent calls may be resent after an ambiguous failure; creates may not.
	idempotent bool
}

func jsonCall(method, path string, in any, idempotent bool) (call, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return call{}, &APIError{Method: method, Path: path, Message: "encoding request", Err: err}
	}
	return call{method: method, path: path, body: b, contentType: "application/json", idempotent: idempotent}, nil
}

// envelope is the frame of every Dooray! response.
type envelope struct {
	Header *struct {
		IsSuccessful  bool   `json:"isSuccessful"`
		ResultCode    int    `json:"resultCode"`
		ResultMessage string `json:"resultMessage"`
	} `json:"header"`
	Result     json.RawMessage `json:"result"`
	TotalCount count           `json:"totalCount"`
}

const (
	maxBody      = 64 << 20
	maxRedirects = 3
)

// do runs c with pacing and bounded retries and decodes result into out.
// It returns totalCount for list calls.
func (cl *Client) do(ctx context.Context, c call, out any) (int, error) {
	for attempt := 0; ; attempt++ {
		if cl.limiter != nil {
			start := time.Now()
			if err := cl.limiter.Wait(ctx, cl.limitKey); err != nil {
				// Nothing was sent: never ambiguous.
				return 0, &APIError{Method: c.method, Path: c.path, Message: "waiting for rate limiter",
					Err: err, Retryable: true}
			}
			if d := time.Since(start); d >= time.Millisecond {
				cl.waited("pacing", d)
			}
		}
		total, err := cl.once(ctx, c, out)
		if err == nil {
			return total, nil
		}
		var ae *APIError
		if !errors.As(err, &ae) || !ae.Retryable || attempt >= cl.maxRetries || ctx.Err() != nil {
			return 0, err
		}
		if ae.Ambiguous && !c.idempotent {
			return 0, err // the caller reconciles; a blind resend may duplicate
		}
		wait := ae.RetryAfter
		if wait == 0 {
			wait = backoff(attempt)
		}
		if wait > cl.maxWait {
			return 0, err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return 0, err
		}
		cl.log.DebugContext(ctx, "dooray retry", "method", c.method, "path", c.path,
			"attempt", attempt+1, "wait", wait, "status", ae.HTTPStatus)
		reason := "backoff"
		if ae.HTTPStatus == http.StatusTooManyRequests {
			reason = "throttled"
		}
		cl.waited(reason, wait)
		if sleep(ctx, wait) != nil {
			return 0, err
		}
	}
}

func (cl *Client) waited(reason string, d time.Duration) {
	if cl.onWait != nil {
		cl.onWait(reason, d)
	}
}

// backoff is the wait before retry n+1 of a 5xx or network failure.
func backoff(n int) time.Duration {
	d := 200 * time.Millisecond << min(n, 5)
	// Jitter from the clock's low bits: enough to spread workers, no global RNG.
	return d + time.Duration(time.Now().UnixNano()%int64(d/4+1))
}

// once sends c a single time, following redirects by hand: Go's client would drop
// the Authorization header on the cross-host 307 of file uploads and cannot
// replay a body it already streamed.
func (cl *Client) once(ctx context.Context, c call, out any) (int, error) {
	target := cl.base.JoinPath(c.path)
	if len(c.query) > 0 {
		target.RawQuery = c.query.Encode()
	}
	method, body, ctype := c.method, c.body, c.contentType
	for hop := 0; ; hop++ {
		start := time.Now()
		resp, wrote, err := cl.send(ctx, method, target, body, ctype)
		if err != nil {
			return 0, &APIError{Method: c.method, Path: c.path, Message: "request failed",
				Err: cl.scrub(err), Retryable: true, Ambiguous: wrote}
		}
		cl.log.DebugContext(ctx, "dooray request", "method", method, "host", target.Host,
			"path", target.Path, "status", resp.StatusCode, "duration", time.Since(start))
		if loc, ok := redirect(resp, method); ok {
			drain(resp)
			if hop >= maxRedirects || loc == nil {
				return 0, &APIError{Method: c.method, Path: c.path, HTTPStatus: resp.StatusCode,
					Err: errNoLocation, Ambiguous: c.method != http.MethodGet}
			}
			next := target.ResolveReference(loc)
			if !cl.trustedHost(next) {
				return 0, &APIError{Method: c.method, Path: c.path, HTTPStatus: resp.StatusCode,
					Message: "refusing to send the token to redirect host " + next.Host}
			}
			if resp.StatusCode == http.StatusSeeOther {
				method, body, ctype = http.MethodGet, nil, ""
			}
			target = next
			continue
		}
		total, err := cl.decode(ctx, c, resp, out)
		drain(resp)
		return total, err
	}
}

// redirect reports a redirect the Client follows: 307/308 for any method (the body
// is replayed), 301/302/303 only for GET, because turning a create into a GET
// silently would hide its outcome.
func redirect(resp *http.Response, method string) (*url.URL, bool) {
	switch resp.StatusCode {
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
		if method != http.MethodGet {
			return nil, false
		}
	default:
		return nil, false
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		return nil, true
	}
	return loc, true
}

// send performs one HTTP exchange; wrote reports whether the request was fully
// written, after which a failure is ambiguous.
func (cl *Client) send(ctx context.Context, method string, target *url.URL, body []byte, ctype string) (*http.Response, bool, error) {
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			wrote.Store(true)
		}
	}}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, target.String(), rd)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Authorization", cl.auth())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", cl.userAgent)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := cl.hc.Do(req)
	if err != nil {
		return nil, wrote.Load(), err
	}
	return resp, true, nil
}

// decode reads the envelope. A 2xx with isSuccessful=false is an error too, and a
// body that is not an envelope is classified by its status alone.
func (cl *Client) decode(ctx context.Context, c call, resp *http.Response, out any) (int, error) {
	cl.observe(ctx, resp)
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, &APIError{Method: c.method, Path: c.path, HTTPStatus: resp.StatusCode,
			Message: "reading response", Err: cl.scrub(err), Retryable: true, Ambiguous: true}
	}
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil || env.Header == nil {
		ae := &APIError{Method: c.method, Path: c.path, HTTPStatus: resp.StatusCode,
			ResultCode: -resp.StatusCode, Message: cl.snippet(data)}
		ae.classify()
		if resp.StatusCode/100 == 2 {
			// A success status with a non-envelope body (PyDooray meets a plain
			// SERVER_GENERAL_ERROR) is a server failure whose effect is unknown.
			ae.Retryable, ae.Ambiguous = true, true
		}
		if ae.Message == "" {
			ae.Message = "response is not a Dooray! envelope"
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			ae.RetryAfter = retryAfter(resp.Header)
			cl.backoffLimiter(ctx, ae.RetryAfter)
		}
		return 0, ae
	}
	if resp.StatusCode/100 != 2 || !env.Header.IsSuccessful {
		ae := &APIError{Method: c.method, Path: c.path, HTTPStatus: resp.StatusCode,
			ResultCode: env.Header.ResultCode, Message: cl.snippet([]byte(env.Header.ResultMessage))}
		ae.classify()
		if resp.StatusCode == http.StatusTooManyRequests {
			ae.RetryAfter = retryAfter(resp.Header)
			cl.backoffLimiter(ctx, ae.RetryAfter)
		}
		return 0, ae
	}
	if out != nil && len(env.Result) > 0 && string(env.Result) != "null" {
		rd := json.NewDecoder(bytes.NewReader(env.Result))
		rd.UseNumber()
		if err := rd.Decode(out); err != nil {
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) {
				// The call succeeded, its result is unreadable: a create did happen.
				return 0, &APIError{Method: c.method, Path: c.path, HTTPStatus: resp.StatusCode,
					Message: "decoding result", Err: err, Ambiguous: !c.idempotent}
			}
			// Fields with unexpected types are left zero; the rest of the result
			// is still good, and Dooray! documents that shapes may drift.
			cl.log.WarnContext(ctx, "dooray result field with unexpected type",
				"path", c.path, "field", te.Field, "value", te.Value)
		}
	}
	return int(env.TotalCount), nil
}

// observe feeds the rate-limit headers to the Limiter.
func (cl *Client) observe(ctx context.Context, resp *http.Response) {
	if cl.limiter == nil {
		return
	}
	if rl, ok := ParseRateLimit(resp.Header); ok {
		if err := cl.limiter.Learn(ctx, cl.limitKey, rl); err != nil {
			cl.log.WarnContext(ctx, "dooray rate limiter", "error", err)
		}
	}
}

func (cl *Client) backoffLimiter(ctx context.Context, d time.Duration) {
	if cl.limiter == nil {
		return
	}
	if err := cl.limiter.Backoff(ctx, cl.limitKey, d); err != nil {
		cl.log.WarnContext(ctx, "dooray rate limiter", "error", err)
	}
}

// snippet makes a body or message fit for an error string: short, valid UTF-8,
// and without the token should a server ever echo it.
func (cl *Client) snippet(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "?"))
	if len(s) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return cl.redact(s)
}

// scrubbedError keeps the chain (errors.Is for context.DeadlineExceeded) while
// its text passes through redaction.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

func (cl *Client) scrub(err error) error {
	msg := cl.redact(err.Error())
	if msg == err.Error() {
		return err
	}
	return &scrubbedError{msg: msg, err: err}
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// path builds an API path from segments, escaping each id.
func apiPath(format string, ids ...ID) string {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = url.PathEscape(string(id))
	}
	return fmt.Sprintf(format, args...)
}

// create sends a non-idempotent POST and returns the id of what it made. A
// success without an id is ambiguous: something may exist, so the caller must
// reconcile before creating again.
func (c *Client) create(ctx context.Context, cl call) (ID, error) {
	var res struct {
		ID ID `json:"id"`
	}
	if _, err := c.do(ctx, cl, &res); err != nil {
		return "", err
	}
	if res.ID == "" {
		return "", &APIError{Method: cl.method, Path: cl.path, HTTPStatus: http.StatusOK,
			Message: "created without an id", Ambiguous: true}
	}
	return res.ID, nil
}
