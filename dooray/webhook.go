package dooray

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Hook event types (hookEventType).
const (
	EventPostCreated          = "postCreated"
	EventPostTagChanged       = "postTagChanged"
	EventPostWorkflowChanged  = "postWorkflowChanged"
	EventPostDueDateChanged   = "postDueDateChanged"
	EventPostCommentCreated   = "postCommentCreated"
	EventPostCommentUpdated   = "postCommentUpdated"
	EventPostSubjectChanged   = "postSubjectChanged"
	EventPostBodyChanged      = "postBodyChanged"
	EventPostUserChanged      = "postUserChanged"
	EventPostMilestoneChanged = "postMilestoneChanged"
	EventPostParentChanged    = "postParentChanged"
	EventPostMoved            = "postMoved"
	EventStateChanged         = "stateChanged"
	EventCodeChanged          = "codeChanged"
	EventMemberChanged        = "memberChanged"
)

// Hook is a decoded project-hook payload. Fields an event does not carry stay
// zero; Raw keeps the payload for events and fields not modelled here. Payloads
// are unsigned, so treat them as hints and re-read the post through the API.
type Hook struct {
	// EventType is hookEventType, or webhookType when only that is present.
	EventType   string `json:"hookEventType"`
	WebhookType string `json:"webhookType"`
	// Version is "version" (seen in real payloads) or "hookVersion" (documented).
	Version int `json:"-"`

	Post    Post `json:"post"`
	Project struct {
		ID   ID     `json:"id"`
		Code string `json:"code"`
	} `json:"project"`
	Tenant struct {
		ID ID `json:"id"`
	} `json:"tenant"`
	Organization struct {
		ID ID `json:"id"`
	} `json:"organization"`
	Source        User `json:"source"`
	RequestOrigin *struct {
		Type string `json:"type"`
	} `json:"requestOrigin,omitempty"`
	TitleLink string `json:"titleLink"`

	Workflow *HookWorkflow `json:"workflow,omitempty"` // postWorkflowChanged: the new state
	Comment  *HookComment  `json:"comment,omitempty"`  // postCommentCreated/Updated

	Tags        []HookTag `json:"tags,omitempty"` // postTagChanged
	AddedTags   []HookTag `json:"addedTags,omitempty"`
	RemovedTags []HookTag `json:"removedtags,omitempty"` // sic: lower-case t in the doc

	DueDate     Time   `json:"dueDate"` // postDueDateChanged
	DueDateFlag *bool  `json:"dueDateFlag,omitempty"`
	Subject     string `json:"subject,omitempty"` // postSubjectChanged
	Body        *Body  `json:"body,omitempty"`    // postBodyChanged
	Users       *Users `json:"users,omitempty"`   // postUserChanged: final state
	Milestone   *struct {
		ID     ID     `json:"id"`
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"milestone,omitempty"`

	Raw json.RawMessage `json:"-"`
}

// HookWorkflow is the state a post moved to.
type HookWorkflow struct {
	ID    ID              `json:"id"`
	Names []LocalizedName `json:"names"`
	Class WorkflowClass   `json:"class"`
}

// HookComment is the comment of postCommentCreated.
type HookComment struct {
	ID        ID     `json:"id"`
	Subtype   string `json:"subtype"`
	CreatedAt Time   `json:"createdAt"`
	Body      Body   `json:"body"`
	Creator   User   `json:"creator"`
}

// HookTag is a tag in tag events.
type HookTag struct {
	ID   ID     `json:"id"`
	Name string `json:"name"`
}

// ErrMalformedHook is returned (wrapped) for payloads that cannot be routed:
// not a JSON object, or without an event type. Retrying them never helps.
var ErrMalformedHook = errors.New("dooray: malformed hook payload")

// FromAPI reports whether the change came through the REST API, which together
// with Source.MemberID() == the bot's id marks an echo of our own change.
func (h Hook) FromAPI() bool { return h.RequestOrigin != nil && h.RequestOrigin.Type == "open-api" }

// DecodeHook decodes a project-hook payload leniently: unknown fields are ignored,
// ids may be strings or numbers, and a field of an unexpected type is left zero
// rather than losing the event.
func DecodeHook(body []byte) (Hook, error) {
	var h Hook
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return h, fmt.Errorf("%w: not a JSON object", ErrMalformedHook)
	}
	if err := json.Unmarshal(body, &h); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return Hook{}, fmt.Errorf("%w: %v", ErrMalformedHook, err)
		}
	}
	var v struct {
		Version     json.RawMessage `json:"version"`
		HookVersion json.RawMessage `json:"hookVersion"`
	}
	_ = json.Unmarshal(body, &v)
	h.Version = lenientInt(v.Version)
	if h.Version == 0 {
		h.Version = lenientInt(v.HookVersion)
	}
	if h.EventType == "" {
		h.EventType = h.WebhookType
	}
	if h.EventType == "" {
		return Hook{}, fmt.Errorf("%w: no hookEventType or webhookType", ErrMalformedHook)
	}
	h.Raw = append(json.RawMessage(nil), body...)
	return h, nil
}

func lenientInt(b json.RawMessage) int {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	n, err := strconv.Atoi(s)
	if err != nil {
		if f, ferr := strconv.ParseFloat(s, 64); ferr == nil {
			return int(f)
		}
	}
	return n
}
