package structs

// MessageType numbers the commands in the Raft log. The numbers are part of
// the on-disk format: append new types at the end, never renumber or reuse.
type MessageType uint8

// Raft message types.
const (
	JobRegisterRequestType        MessageType = 0
	JobDeregisterRequestType      MessageType = 1
	EvalUpdateRequestType         MessageType = 2
	EvalDeleteRequestType         MessageType = 3
	ApplyPlanResultsRequestType   MessageType = 4
	AllocClientUpdateRequestType  MessageType = 5
	NodeRegisterRequestType       MessageType = 6
	NodeUpdateStatusRequestType   MessageType = 7
	NodeDeregisterRequestType     MessageType = 8
	AllocDesiredUpdateRequestType MessageType = 9
	// JobStabilityRequestType marks one version of a job stable (JobStabilityRequest).
	JobStabilityRequestType MessageType = 10
	// SchedulerConfigRequestType stores the operator's scheduler configuration (SchedulerSetConfigRequest).
	SchedulerConfigRequestType MessageType = 11
	// NodeUpdateDrainRequestType starts, changes or ends a node drain (NodeUpdateDrainRequest).
	NodeUpdateDrainRequestType MessageType = 12
	// NodeUpdateEligibilityRequestType sets a node's scheduling eligibility (NodeUpdateEligibilityRequest).
	NodeUpdateEligibilityRequestType MessageType = 13
	// AllocUpdateDesiredTransitionRequestType marks allocations for migration (AllocUpdateDesiredTransitionRequest).
	AllocUpdateDesiredTransitionRequestType MessageType = 14
	// DeploymentStatusUpdateRequestType changes a deployment's status (DeploymentStatusUpdateRequest).
	DeploymentStatusUpdateRequestType MessageType = 15
	// DeploymentPromoteRequestType promotes a deployment's canaries (DeploymentPromoteRequest).
	DeploymentPromoteRequestType MessageType = 16
	// DeploymentAllocHealthRequestType records allocation health in a deployment (DeploymentAllocHealthRequest).
	DeploymentAllocHealthRequestType MessageType = 17
	// DeploymentDeleteRequestType removes deployments (reserved for garbage collection).
	DeploymentDeleteRequestType MessageType = 18
	// PeriodicLaunchRequestType records a periodic job's launch (PeriodicLaunchRequest).
	PeriodicLaunchRequestType MessageType = 19
	// ReconcileJobSummariesRequestType recounts every job summary (ReconcileJobSummariesRequest).
	ReconcileJobSummariesRequestType MessageType = 20
	// ServiceRegistrationUpsertRequestType stores service registrations (ServiceRegistrationUpsertRequest).
	ServiceRegistrationUpsertRequestType MessageType = 21
	// ServiceRegistrationDeleteRequestType removes service registrations (ServiceRegistrationDeleteRequest).
	ServiceRegistrationDeleteRequestType MessageType = 22
	// ACLPolicyUpsertRequestType stores ACL policies (ACLPolicyUpsertRequest).
	ACLPolicyUpsertRequestType MessageType = 23
	// ACLPolicyDeleteRequestType removes ACL policies (ACLPolicyDeleteRequest).
	ACLPolicyDeleteRequestType MessageType = 24
	// ACLTokenUpsertRequestType stores ACL tokens (ACLTokenUpsertRequest).
	ACLTokenUpsertRequestType MessageType = 25
	// ACLTokenDeleteRequestType removes ACL tokens (ACLTokenDeleteRequest).
	ACLTokenDeleteRequestType MessageType = 26
	// ACLTokenBootstrapRequestType stores the bootstrap management token (ACLTokenBootstrapRequest).
	ACLTokenBootstrapRequestType MessageType = 27
	// ACLRoleUpsertRequestType stores ACL roles (ACLRoleUpsertRequest).
	ACLRoleUpsertRequestType MessageType = 28
	// ACLRoleDeleteRequestType removes ACL roles (ACLRoleDeleteRequest).
	ACLRoleDeleteRequestType MessageType = 29
	// NamespaceUpsertRequestType stores namespaces (NamespaceUpsertRequest).
	NamespaceUpsertRequestType MessageType = 30
	// NamespaceDeleteRequestType removes namespaces (NamespaceDeleteRequest).
	NamespaceDeleteRequestType MessageType = 31

	// 32-39: Nomad compatibility.

	// JobVersionTagRequestType tags or untags a job version (JobVersionTagRequest).
	JobVersionTagRequestType MessageType = 32
	// NodePoolUpsertRequestType stores node pools (NodePoolUpsertRequest).
	NodePoolUpsertRequestType MessageType = 34
	// NodePoolDeleteRequestType removes node pools (NodePoolDeleteRequest).
	NodePoolDeleteRequestType MessageType = 35

	// JobScaleRequestType scales a job group and records its scaling event
	// (JobScaleRequest).
	JobScaleRequestType MessageType = 37

	// 40-49: the keyring and variables.

	// KeyringUpsertRequestType stores root keys (KeyringUpsertRequest).
	KeyringUpsertRequestType MessageType = 40
	// KeyringDeleteRequestType removes root keys (KeyringDeleteRequest).
	KeyringDeleteRequestType MessageType = 41
	// VariableApplyRequestType writes one variable (VariableApplyRequest).
	VariableApplyRequestType MessageType = 42
	// VariablesRekeyRequestType re-encrypts variables (VariablesRekeyRequest).
	VariablesRekeyRequestType MessageType = 43

	// 53-59: scale.

	// AllocClientUpdateBatchRequestType is several client requests'
	// allocation updates committed in one entry (AllocClientUpdateBatchRequest).
	AllocClientUpdateBatchRequestType MessageType = 53
	// ApplyPlanResultsBatchRequestType is several plan results the plan
	// applier checked one after the other, committed together in one
	// entry (ApplyPlanResultsBatchRequest).
	ApplyPlanResultsBatchRequestType MessageType = 58
)

// IgnoreUnknownTypeFlag, set on a message type, tells an older FSM that does
// not know the type to skip the entry instead of failing.
const IgnoreUnknownTypeFlag MessageType = 128
