package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/contiple/contiple-worker/dooray"
	"github.com/contiple/contiple-worker/ticket"
)

// The routes of the Dooray! webhook receiver: the URL names the organisation
// and carries its token. The route without an organisation is the old one, of
// the default organisation (the single `dooray:` block).
const (
	WebhookPath        = "POST /webhooks/dooray/{organization}/{token}"
	WebhookDefaultPath = "POST /webhooks/dooray/{token}"
)

// DoorayLinks tells whether a task of an organisation belongs to one of our
// tickets (*ticket.Store).
type DoorayLinks interface {
	DoorayPostLinked(ctx context.Context, org, postID string) (bool, error)
}

// DooraySyncs queues a deduplicated sync of one task (jobs.DoorayHints).
type DooraySyncs interface {
	EnqueuePostSync(ctx context.Context, org, projectID, postID string) error
}

// WebhookOrganization is what the receiver knows of one organisation.
type WebhookOrganization struct {
	// Token is the secret path segment of its hooks; empty refuses them all.
	Token string
	// BotMemberID, when set, drops the echoes of our own API calls.
	BotMemberID string
}

// Webhook receives Dooray! project hooks. Dooray! signs nothing, so the URL
// carries an unguessable token, and a payload is only a hint: it names a task,
// whose sync re-reads it through the API. The receiver answers at once; the
// work is a queued dooray:sync, coalesced per task.
type Webhook struct {
	// Organizations by key, each with its own token: a token of one
	// organisation opens no other's URL. An unknown organisation is refused.
	Organizations map[string]WebhookOrganization
	Links         DoorayLinks
	Syncs         DooraySyncs
	Log           *slog.Logger
	// MaxBody bounds a payload (default 1 MiB).
	MaxBody int64
}

// Mount registers the receiver on mux at WebhookPath and WebhookDefaultPath.
func (h *Webhook) Mount(mux *http.ServeMux) {
	mux.Handle(WebhookPath, h)
	mux.Handle(WebhookDefaultPath, h)
}

type webhookReply struct {
	Status string `json:"status"` // queued | ignored
	Reason string `json:"reason,omitempty"`
}

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	token, orgKey := r.PathValue("token"), r.PathValue("organization")
	if token == "" {
		token = r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	}
	if orgKey == "" {
		orgKey = defaultOrganization
	}
	org, known := h.Organizations[orgKey]
	if !known || !validToken(org.Token, token) {
		log.WarnContext(r.Context(), "dooray webhook: bad token", "organization", orgKey, "remote", r.RemoteAddr)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	limit := h.MaxBody
	if limit <= 0 {
		limit = 1 << 20
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		http.Error(w, "payload too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	hook, err := dooray.DecodeHook(body)
	if err != nil {
		log.WarnContext(r.Context(), "dooray webhook: malformed payload", "err", err, "size", len(body))
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	postID, projectID := string(hook.Post.ID), string(hook.Project.ID)
	log = log.With("organization", orgKey, "event", hook.EventType, "dooray_post_id", postID, "project_id", projectID, "version", hook.Version)
	switch {
	case postID == "":
		writeWebhookReply(w, http.StatusOK, webhookReply{Status: "ignored", Reason: "no task in the event"})
		return
	case org.BotMemberID != "" && hook.FromAPI() && string(hook.Source.MemberID()) == org.BotMemberID &&
		hook.EventType != dooray.EventPostMoved:
		writeWebhookReply(w, http.StatusOK, webhookReply{Status: "ignored", Reason: "our own change"})
		return
	}
	linked, err := h.Links.DoorayPostLinked(r.Context(), orgKey, postID)
	if err != nil {
		log.ErrorContext(r.Context(), "dooray webhook: link lookup", "err", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	if !linked {
		log.DebugContext(r.Context(), "dooray webhook: task not ours")
		writeWebhookReply(w, http.StatusOK, webhookReply{Status: "ignored", Reason: "task not linked to a ticket"})
		return
	}
	if err := h.Syncs.EnqueuePostSync(r.Context(), orgKey, projectID, postID); err != nil {
		log.ErrorContext(r.Context(), "dooray webhook: queue sync", "err", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	log.InfoContext(r.Context(), "dooray webhook: sync queued")
	writeWebhookReply(w, http.StatusAccepted, webhookReply{Status: "queued"})
}

// defaultOrganization is ticket.DoorayDefaultOrganization, the organisation
// of the route without one.
const defaultOrganization = ticket.DoorayDefaultOrganization

// validToken compares in constant time; hashing first hides the length too.
func validToken(want, got string) bool {
	if want == "" || got == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func writeWebhookReply(w http.ResponseWriter, status int, v webhookReply) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
