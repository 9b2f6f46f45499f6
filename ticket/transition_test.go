package ticket

import (
	"errors"
	"testing"
)

// allowed is written out by hand from the seed and DESIGN.md, not derived from
// rules: every (status, action) pair not listed here must be refused.
// The value is the status reached when the ticket is assigned / unassigned.
var allowed = map[Status]map[Action][2]Status{
	StatusUnassigned: {
		ActionAssign:          {StatusInProgress, StatusInProgress},
		ActionHold:            {StatusOnHold, StatusOnHold},
		ActionComment:         {StatusUnassigned, StatusUnassigned},
		ActionInternalResolve: {StatusResolved, StatusResolved},
		ActionMarkSpam:        {StatusSpam, StatusSpam},
	},
	StatusInProgress: {
		ActionAssign:          {StatusInProgress, StatusInProgress},
		ActionResolve:         {StatusResolved, StatusResolved},
		ActionHold:            {StatusOnHold, StatusOnHold},
		ActionComment:         {StatusInProgress, StatusInProgress},
		ActionInternalResolve: {StatusResolved, StatusResolved},
		ActionMarkSpam:        {StatusSpam, StatusSpam},
		ActionEscalate:        {StatusInProgress, StatusInProgress},
		ActionDoorayCreated:   {StatusDoorayTransferred, StatusDoorayTransferred},
		ActionIssueTransfer:   {StatusIssueTransferring, StatusIssueTransferring},
	},
	StatusOnHold: {
		ActionAssign:          {StatusOnHold, StatusOnHold},
		ActionResolve:         {StatusResolved, StatusResolved},
		ActionComment:         {StatusOnHold, StatusOnHold},
		ActionInternalResolve: {StatusResolved, StatusResolved},
		ActionMarkSpam:        {StatusSpam, StatusSpam},
		ActionEscalate:        {StatusOnHold, StatusOnHold},
		ActionDoorayCreated:   {StatusDoorayTransferred, StatusDoorayTransferred},
		ActionIssueTransfer:   {StatusIssueTransferring, StatusIssueTransferring},
		ActionCustomerReply:   {StatusInProgress, StatusUnassigned},
	},
	StatusIssueTransferring: {
		ActionAssign:        {StatusIssueTransferring, StatusIssueTransferring},
		ActionComment:       {StatusIssueTransferring, StatusIssueTransferring},
		ActionIssueAnswered: {StatusIssueAnswered, StatusIssueAnswered},
	},
	StatusIssueAnswered: {
		ActionAssign:          {StatusIssueAnswered, StatusIssueAnswered},
		ActionResolve:         {StatusResolved, StatusResolved},
		ActionComment:         {StatusIssueAnswered, StatusIssueAnswered},
		ActionInternalResolve: {StatusResolved, StatusResolved},
		ActionMarkSpam:        {StatusSpam, StatusSpam},
	},
	StatusDoorayTransferred: {
		ActionAssign:          {StatusDoorayTransferred, StatusDoorayTransferred},
		ActionResolve:         {StatusResolved, StatusResolved},
		ActionComment:         {StatusDoorayTransferred, StatusDoorayTransferred},
		ActionInternalResolve: {StatusResolved, StatusResolved},
		ActionMarkSpam:        {StatusSpam, StatusSpam},
		ActionDoorayWorking:   {StatusDoorayInProgress, StatusDoorayInProgress},
		ActionDoorayClosed:    {StatusDoorayAnswered, StatusDoorayAnswered},
		ActionDoorayComment:   {StatusDoorayTransferred, StatusDoorayTransferred},
	},
	StatusDoorayInProgress: {
		ActionAssign:          {StatusDoorayInProgress, StatusDoorayInProgress},
		ActionResolve:         {StatusResolved, StatusResolved},
		ActionComment:         {StatusDoorayInProgress, StatusDoorayInProgress},
		ActionInternalResolve: {StatusResolved, StatusResolved},
		ActionMarkSpam:        {StatusSpam, StatusSpam},
		ActionDoorayClosed:    {StatusDoorayAnswered, StatusDoorayAnswered},
		ActionDoorayComment:   {StatusDoorayInProgress, StatusDoorayInProgress},
	},
	StatusDoorayAnswered: {
		ActionAssign:          {StatusDoorayAnswered, StatusDoorayAnswered},
		ActionResolve:         {StatusResolved, StatusResolved},
		ActionComment:         {StatusDoorayAnswered, StatusDoorayAnswered},
		ActionInternalResolve: {StatusResolved, StatusResolved},
		ActionMarkSpam:        {StatusSpam, StatusSpam},
		ActionDoorayWorking:   {StatusDoorayInProgress, StatusDoorayInProgress},
	},
	StatusResolved: {
		ActionComment:       {StatusResolved, StatusResolved},
		ActionComplete:      {StatusCompleted, StatusCompleted},
		ActionCustomerReply: {StatusInProgress, StatusUnassigned},
	},
	StatusCompleted: {},
	StatusSpam: {
		ActionRestore:    {StatusInProgress, StatusUnassigned},
		ActionDeleteSpam: {StatusSpam, StatusSpam},
	},
}

func TestNextEveryPair(t *testing.T) {
	if len(allowed) != len(Statuses) {
		t.Fatalf("table covers %d statuses, want %d", len(allowed), len(Statuses))
	}
	for _, from := range Statuses {
		for _, a := range Actions {
			for i, assigned := range []bool{true, false} {
				want, ok := allowed[from][a]
				got, err := Next(from, a, assigned)
				name := string(from) + "/" + string(a)
				if assigned {
					name += "/assigned"
				}
				t.Run(name, func(t *testing.T) {
					if !ok {
						var te *TransitionError
						if !errors.As(err, &te) || te.Status != from || te.Action != a {
							t.Fatalf("Next = %q, %v; want a TransitionError naming %s and %s", got, err, from, a)
						}
						if Allowed(from, a) {
							t.Fatal("Allowed says yes to a refused pair")
						}
						return
					}
					if err != nil || got != want[i] {
						t.Fatalf("Next = %q, %v; want %q", got, err, want[i])
					}
					if !Allowed(from, a) {
						t.Fatal("Allowed says no to an allowed pair")
					}
				})
			}
		}
	}
}

func TestTransitionErrorMessage(t *testing.T) {
	_, err := Next(StatusCompleted, ActionResolve, true)
	if got, want := err.Error(), "cannot resolve a ticket that is completed"; got != want {
		t.Fatalf("error = %q, want %q", got, want)
	}
	if _, err := Next(StatusUnassigned, Action("fly"), false); err == nil {
		t.Fatal("unknown action accepted")
	}
}
