package structs

// Topic names a kind of object in the event stream (GET /v1/event/stream).
type Topic string

// Event stream topics, as Nomad names them. TopicAll, as a topic or a key,
// matches everything.
const (
	TopicJob        Topic = "Job"
	TopicAllocation Topic = "Allocation"
	TopicEvaluation Topic = "Evaluation"
	TopicDeployment Topic = "Deployment"
	TopicNode       Topic = "Node"
	TopicService    Topic = "Service"
	// TopicVariables carries variables' metadata (never their items).
	TopicVariables Topic = "Variables"
	// TopicNodePool carries node pools (the built-in ones never change).
	TopicNodePool Topic = "NodePool"
	TopicAll      Topic = "*"
)

// EventTopics are the topics this server publishes, in display order.
var EventTopics = []Topic{TopicJob, TopicAllocation, TopicEvaluation, TopicDeployment, TopicNode, TopicNodePool, TopicService, TopicVariables}

// Event types, named as Nomad names them: one per kind of Raft entry, given
// to every event the entry produces.
const (
	TypeJobRegistered                 = "JobRegistered"
	TypeJobDeregistered               = "JobDeregistered"
	TypeEvalUpdated                   = "EvaluationUpdated"
	TypePlanResult                    = "PlanResult"
	TypeAllocationUpdated             = "AllocationUpdated"
	TypeAllocationUpdateDesiredStatus = "AllocationUpdateDesiredStatus"
	TypeNodeRegistration              = "NodeRegistration"
	TypeNodeDeregistration            = "NodeDeregistration"
	TypeNodeEvent                     = "NodeEvent"
	TypeNodeDrain                     = "NodeDrain"
	TypeDeploymentUpdate              = "DeploymentStatusUpdate"
	TypeDeploymentPromotion           = "DeploymentPromotion"
	TypeDeploymentAllocHealth         = "DeploymentAllocHealth"
	TypeServiceRegistration           = "ServiceRegistration"
	TypeVariableUpserted              = "VariableUpserted"
	TypeVariableDeleted               = "VariableDeleted"
	TypeServiceDeregistration         = "ServiceDeregistration"
	TypeNodePoolUpserted              = "NodePoolUpserted"
	TypeNodePoolDeleted               = "NodePoolDeleted"
)

// Events is one frame of the event stream: the events one Raft entry
// produced, all at Index. A frame with neither is a heartbeat.
type Events struct {
	Index  uint64
	Events []Event
}

// IsHeartbeat reports whether the frame carries nothing (a keep-alive "{}").
func (e *Events) IsHeartbeat() bool { return e.Index == 0 && len(e.Events) == 0 }

// Event is one change to one object. Key is the object's ID; FilterKeys
// are other keys a subscriber may select it by (an allocation's job ID and
// deployment ID). Namespace is empty for objects outside namespaces
// (nodes). The payload objects are shared with the state store: never
// change them.
type Event struct {
	Topic      Topic
	Type       string
	Key        string
	Namespace  string
	FilterKeys []string
	Index      uint64
	Payload    *EventPayload
}

// EventPayload holds the object an event is about, under its topic's name:
// {"Job": {...}}, {"Allocation": {...}} and so on; exactly one is set.
// Allocations are sent without their Job, as Nomad does.
type EventPayload struct {
	Job        *Job                 `json:",omitempty"`
	Allocation *Allocation          `json:",omitempty"`
	Evaluation *Evaluation          `json:",omitempty"`
	Deployment *Deployment          `json:",omitempty"`
	Node       *Node                `json:",omitempty"`
	Service    *ServiceRegistration `json:",omitempty"`
	Variable   *VariableMetadata    `json:",omitempty"`
	NodePool   *NodePool            `json:",omitempty"`
}
