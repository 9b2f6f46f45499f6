package ticket

import "fmt"

// Status is where a ticket stands (seed: チケットステータス). The ten statuses of
// the seed plus Spam, the spam box, which is excluded from "all tickets".
type Status string

const (
	StatusUnassigned        Status = "unassigned"         // アサイン待ち
	StatusInProgress        Status = "in_progress"        // 処理中
	StatusOnHold            Status = "on_hold"            // 保留中
	StatusIssueTransferring Status = "issue_transferring" // 移管処理中
	StatusIssueAnswered     Status = "issue_answered"     // 移管 回答完了
	StatusDoorayTransferred Status = "dooray_transferred" // Dooray 移管完了
	StatusDoorayInProgress  Status = "dooray_in_progress" // Dooray 進行中
	StatusDoorayAnswered    Status = "dooray_answered"    // Dooray 回答完了
	StatusResolved          Status = "resolved"           // 解決
	StatusCompleted         Status = "completed"          // 完了
	StatusSpam              Status = "spam"               // スパムボックス
)

// Statuses lists every status in the order the seed presents them.
var Statuses = []Status{
	StatusUnassigned, StatusInProgress, StatusOnHold, StatusIssueTransferring,
	StatusIssueAnswered, StatusDoorayTransferred, StatusDoorayInProgress,
	StatusDoorayAnswered, StatusResolved, StatusCompleted, StatusSpam,
}

// ParseStatus accepts the key of a status.
func ParseStatus(s string) (Status, error) {
	for _, st := range Statuses {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown status %q (want one of %v)", s, Statuses)
}

// Priority of a ticket; normal by default.
type Priority string

const (
	PriorityLow    Priority = "low"
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
	PriorityUrgent Priority = "urgent"
)

// Priorities lists every priority, lowest first.
var Priorities = []Priority{PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent}

// ParsePriority accepts the key of a priority; "" means normal.
func ParsePriority(s string) (Priority, error) {
	if s == "" {
		return PriorityNormal, nil
	}
	for _, p := range Priorities {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown priority %q (want one of %v)", s, Priorities)
}

// Channel is how a ticket came in (seed: 流入チャネル).
type Channel string

const (
	ChannelEmail      Channel = "email"
	ChannelPhone      Channel = "phone"
	ChannelChat       Channel = "chat"
	ChannelHelpCenter Channel = "helpcenter"
	ChannelCreated    Channel = "created" // 生成: made by hand by an operator
)

// Channels lists every channel.
var Channels = []Channel{ChannelEmail, ChannelPhone, ChannelChat, ChannelHelpCenter, ChannelCreated}

// ParseChannel accepts the key of a channel; "" means created.
func ParseChannel(s string) (Channel, error) {
	if s == "" {
		return ChannelCreated, nil
	}
	for _, c := range Channels {
		if string(c) == s {
			return c, nil
		}
	}
	return "", fmt.Errorf("unknown channel %q (want one of %v)", s, Channels)
}
