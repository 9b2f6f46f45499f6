package dooray

// User types of users.from/to/cc, log creators and hook sources.
const (
	UserTypeMember    = "member"
	UserTypeEmailUser = "emailUser"
	UserTypeGroup     = "group"
)

// User is a participant of a post or the author of a log or hook event: a member
// of the organisation, an outside e-mail address, or a project member group.
type User struct {
	Type      string     `json:"type"`
	Member    *UserRef   `json:"member,omitempty"`
	EmailUser *EmailUser `json:"emailUser,omitempty"`
	Group     *UserGroup `json:"group,omitempty"`
	// Workflow is this assignee's own state (users.to[] of a post).
	Workflow *WorkflowRef `json:"workflow,omitempty"`
	// WorkflowID is how hook payloads carry the same, per field notes.
	WorkflowID ID `json:"workflowId,omitempty"`
}

// UserRef names a member. The REST API calls the id organizationMemberId, hook
// sources call it id; MemberID returns whichever is set.
type UserRef struct {
	OrganizationMemberID ID     `json:"organizationMemberId,omitempty"`
	ID                   ID     `json:"id,omitempty"`
	Name                 string `json:"name,omitempty"`
	UserCode             string `json:"userCode,omitempty"`
	EmailAddress         string `json:"emailAddress,omitempty"`
}

func (r *UserRef) MemberID() ID {
	if r == nil {
		return ""
	}
	if r.OrganizationMemberID != "" {
		return r.OrganizationMemberID
	}
	return r.ID
}

// EmailUser is someone outside the organisation, addressed by e-mail.
type EmailUser struct {
	EmailAddress string `json:"emailAddress"`
	Name         string `json:"name,omitempty"`
}

// UserGroup is a project member group in responses.
type UserGroup struct {
	ProjectMemberGroupID ID     `json:"projectMemberGroupId,omitempty"`
	Members              []User `json:"members,omitempty"`
}

// MemberID returns the member id of u, or "" when u is not a member.
func (u User) MemberID() ID { return u.Member.MemberID() }

// Member returns a User for an organisation member.
func Member(id ID) User {
	return User{Type: UserTypeMember, Member: &UserRef{OrganizationMemberID: id}}
}

// Email returns a User for an outside e-mail address.
func Email(address, name string) User {
	return User{Type: UserTypeEmailUser, EmailUser: &EmailUser{EmailAddress: address, Name: name}}
}

// Users are the participants of a post.
type Users struct {
	From *User  `json:"from,omitempty"`
	To   []User `json:"to"`
	CC   []User `json:"cc"`
}

// Body is rich text of a post, log or hook.
type Body struct {
	MimeType string `json:"mimeType"`
	Content  string `json:"content"`
}

// MIME types Dooray! accepts for bodies.
const (
	Markdown = "text/x-markdown"
	HTML     = "text/html"
)
