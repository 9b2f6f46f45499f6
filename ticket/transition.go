package ticket

import (
	"fmt"
	"slices"
)

// Action is something that happens to a ticket and may change its status.
type Action string

const (
	ActionAssign          Action = "assign"           // keep, transfer or trigger
	ActionResolve         Action = "resolve"          // owes a resolve mail
	ActionHold            Action = "hold"             // owes a hold mail
	ActionComment         Action = "comment"          // a note; status unchanged
	ActionInternalResolve Action = "internal_resolve" // no mail
	ActionMarkSpam        Action = "spam"             // internal resolve into the spam box
	ActionRestore         Action = "restore"          // out of the spam box
	ActionDeleteSpam      Action = "delete_spam"      // gone for good
	ActionComplete        Action = "complete"         // an administrator closes a resolved ticket
	ActionEscalate        Action = "escalate"         // request a Dooray! task; owes dooray:escalate
	ActionDoorayCreated   Action = "dooray_created"   // the Dooray! task exists
	ActionDoorayWorking   Action = "dooray_working"   // its workflow class became working
	ActionDoorayClosed    Action = "dooray_closed"    // its workflow class became closed
	ActionDoorayComment   Action = "dooray_comment"   // owes dooray:comment
	ActionIssueTransfer   Action = "issue_transfer"   // a ticket is made in another service
	ActionIssueAnswered   Action = "issue_answered"   // that ticket was resolved
	ActionCustomerReply   Action = "customer_reply"   // a customer mail threads into the ticket
)

// Actions lists every action, for exhaustive tests and help texts.
var Actions = []Action{
	ActionAssign, ActionResolve, ActionHold, ActionComment, ActionInternalResolve,
	ActionMarkSpam, ActionRestore, ActionDeleteSpam, ActionComplete, ActionEscalate,
	ActionDoorayCreated, ActionDoorayWorking, ActionDoorayClosed, ActionDoorayComment,
	ActionIssueTransfer, ActionIssueAnswered, ActionCustomerReply,
}

// open is every status in which an operator is still working on the ticket.
var open = []Status{
	StatusUnassigned, StatusInProgress, StatusOnHold, StatusIssueAnswered,
	StatusDoorayTransferred, StatusDoorayInProgress, StatusDoorayAnswered,
}

// rule says from which statuses an action is allowed and where it leads.
// to == "" keeps the status; workable sends the ticket to in_progress when it
// has an assignee and to unassigned otherwise.
type rule struct {
	from     []Status
	to       Status
	workable bool
}

var rules = map[Action]rule{
	ActionAssign: {from: []Status{StatusUnassigned, StatusInProgress, StatusOnHold, StatusIssueTransferring,
		StatusIssueAnswered, StatusDoorayTransferred, StatusDoorayInProgress, StatusDoorayAnswered}},
	ActionResolve: {from: []Status{StatusInProgress, StatusOnHold, StatusIssueAnswered,
		StatusDoorayTransferred, StatusDoorayInProgress, StatusDoorayAnswered}, to: StatusResolved},
	ActionHold: {from: []Status{StatusUnassigned, StatusInProgress}, to: StatusOnHold},
	ActionComment: {from: []Status{StatusUnassigned, StatusInProgress, StatusOnHold, StatusIssueTransferring,
		StatusIssueAnswered, StatusDoorayTransferred, StatusDoorayInProgress, StatusDoorayAnswered, StatusResolved}},
	ActionInternalResolve: {from: open, to: StatusResolved},
	ActionMarkSpam:        {from: open, to: StatusSpam},
	ActionRestore:         {from: []Status{StatusSpam}, workable: true},
	ActionDeleteSpam:      {from: []Status{StatusSpam}},
	ActionComplete:        {from: []Status{StatusResolved}, to: StatusCompleted},
	ActionEscalate:        {from: []Status{StatusInProgress, StatusOnHold}},
	ActionDoorayCreated:   {from: []Status{StatusInProgress, StatusOnHold}, to: StatusDoorayTransferred},
	ActionDoorayWorking:   {from: []Status{StatusDoorayTransferred, StatusDoorayAnswered}, to: StatusDoorayInProgress},
	ActionDoorayClosed:    {from: []Status{StatusDoorayTransferred, StatusDoorayInProgress}, to: StatusDoorayAnswered},
	ActionDoorayComment:   {from: []Status{StatusDoorayTransferred, StatusDoorayInProgress}},
	ActionIssueTransfer:   {from: []Status{StatusInProgress, StatusOnHold}, to: StatusIssueTransferring},
	ActionIssueAnswered:   {from: []Status{StatusIssueTransferring}, to: StatusIssueAnswered},
	ActionCustomerReply:   {from: []Status{StatusResolved, StatusOnHold}, workable: true},
}

// TransitionError is a refused transition. It names the status and the action.
type TransitionError struct {
	Action Action
	Status Status
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("cannot %s a ticket that is %s", e.Action, e.Status)
}

// Next is the state machine: the status a ticket in status from reaches by the
// action, given whether it has an assignee. It refuses with a *TransitionError.
func Next(from Status, a Action, assigned bool) (Status, error) {
	r, ok := rules[a]
	if !ok {
		return "", fmt.Errorf("unknown action %q", a)
	}
	if !slices.Contains(r.from, from) {
		return "", &TransitionError{Action: a, Status: from}
	}
	switch {
	case r.workable && assigned:
		return StatusInProgress, nil
	case r.workable:
		return StatusUnassigned, nil
	case a == ActionAssign && from == StatusUnassigned:
		return StatusInProgress, nil
	case r.to != "":
		return r.to, nil
	}
	return from, nil
}

// Allowed reports whether the action may be taken in status from.
func Allowed(from Status, a Action) bool {
	r, ok := rules[a]
	return ok && slices.Contains(r.from, from)
}
