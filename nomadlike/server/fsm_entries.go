package server

import (
	"fmt"
	"reflect"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// entryHandler applies one Raft message type: it decodes the entry's body
// and makes exactly one state store call, which runs one transaction (or its
// part of its batch's, see fsm.ApplyBatch).
type entryHandler struct {
	// event is the Type of the events the entry publishes ("" for none).
	event string
	// name is the request type's name ("JobRegisterRequest"), a metric label.
	name  string
	apply func(st *state.Store, index uint64, buf []byte) (state.Result, error)
}

// entry returns the handler of a message type whose body is an R, applied
// by the store method apply (a method expression such as
// (*state.Store).JobRegister): the one store method of the type.
func entry[R any](event string, apply func(*state.Store, uint64, *R) (state.Result, error)) entryHandler {
	return entryHandler{event: event, name: reflect.TypeFor[R]().Name(), apply: func(st *state.Store, index uint64, buf []byte) (state.Result, error) {
		var req R
		if err := decodeBody(buf, &req); err != nil {
			return state.Result{}, fmt.Errorf("decode %T: %w", req, err)
		}
		return apply(st, index, &req)
	}}
}

// entryHandlers maps every Raft message type to its handler. A new message
// type adds one line here (its request, its state store method and its
// event type) and a fixture entry in fsm_fixture_test.go; the FSM tests
// fail for a declared type missing from either.
var entryHandlers = map[structs.MessageType]entryHandler{
	structs.JobRegisterRequestType:                  entry(structs.TypeJobRegistered, (*state.Store).ApplyJobRegister),
	structs.JobDeregisterRequestType:                entry(structs.TypeJobDeregistered, (*state.Store).JobDeregister),
	structs.EvalUpdateRequestType:                   entry(structs.TypeEvalUpdated, (*state.Store).ApplyEvalUpdate),
	structs.EvalDeleteRequestType:                   entry("", (*state.Store).EvalDelete),
	structs.ApplyPlanResultsRequestType:             entry(structs.TypePlanResult, (*state.Store).ApplyPlanResults),
	structs.ApplyPlanResultsBatchRequestType:        entry(structs.TypePlanResult, (*state.Store).ApplyPlanResultsBatch),
	structs.AllocClientUpdateRequestType:            entry(structs.TypeAllocationUpdated, (*state.Store).AllocClientUpdate),
	structs.AllocClientUpdateBatchRequestType:       entry(structs.TypeAllocationUpdated, (*state.Store).AllocClientUpdateBatch),
	structs.NodeRegisterRequestType:                 entry(structs.TypeNodeRegistration, (*state.Store).NodeRegister),
	structs.NodeUpdateStatusRequestType:             entry(structs.TypeNodeEvent, (*state.Store).NodeUpdateStatus),
	structs.NodeDeregisterRequestType:               entry(structs.TypeNodeDeregistration, (*state.Store).NodeDeregister),
	structs.AllocDesiredUpdateRequestType:           entry(structs.TypeAllocationUpdateDesiredStatus, (*state.Store).AllocDesiredUpdate),
	structs.JobStabilityRequestType:                 entry("", (*state.Store).JobStability),
	structs.SchedulerConfigRequestType:              entry("", (*state.Store).SchedulerSetConfig),
	structs.NodeUpdateDrainRequestType:              entry(structs.TypeNodeDrain, (*state.Store).NodeUpdateDrain),
	structs.NodeUpdateEligibilityRequestType:        entry(structs.TypeNodeDrain, (*state.Store).NodeUpdateEligibility),
	structs.AllocUpdateDesiredTransitionRequestType: entry(structs.TypeAllocationUpdateDesiredStatus, (*state.Store).AllocUpdateDesiredTransition),
	structs.DeploymentStatusUpdateRequestType:       entry(structs.TypeDeploymentUpdate, (*state.Store).DeploymentStatusUpdate),
	structs.DeploymentPromoteRequestType:            entry(structs.TypeDeploymentPromotion, (*state.Store).DeploymentPromote),
	structs.DeploymentAllocHealthRequestType:        entry(structs.TypeDeploymentAllocHealth, (*state.Store).DeploymentAllocHealth),
	structs.DeploymentDeleteRequestType:             entry("", (*state.Store).DeploymentDelete),
	structs.PeriodicLaunchRequestType:               entry("", (*state.Store).PeriodicLaunch),
	structs.ReconcileJobSummariesRequestType:        entry("", (*state.Store).ReconcileJobSummaries),
	structs.ServiceRegistrationUpsertRequestType:    entry(structs.TypeServiceRegistration, (*state.Store).ServiceRegistrationUpsert),
	structs.ServiceRegistrationDeleteRequestType:    entry(structs.TypeServiceDeregistration, (*state.Store).ServiceRegistrationDelete),
	structs.ACLPolicyUpsertRequestType:              entry("", (*state.Store).ACLPolicyUpsert),
	structs.ACLPolicyDeleteRequestType:              entry("", (*state.Store).ACLPolicyDelete),
	structs.ACLTokenUpsertRequestType:               entry("", (*state.Store).ACLTokenUpsert),
	structs.ACLTokenDeleteRequestType:               entry("", (*state.Store).ACLTokenDelete),
	structs.ACLTokenBootstrapRequestType:            entry("", (*state.Store).ACLTokenBootstrap),
	structs.ACLRoleUpsertRequestType:                entry("", (*state.Store).ACLRoleUpsert),
	structs.ACLRoleDeleteRequestType:                entry("", (*state.Store).ACLRoleDelete),
	structs.NamespaceUpsertRequestType:              entry("", (*state.Store).NamespaceUpsert),
	structs.NamespaceDeleteRequestType:              entry("", (*state.Store).NamespaceDelete),
	structs.JobVersionTagRequestType:                entry("", (*state.Store).JobVersionTag),
	structs.JobScaleRequestType:                     entry(structs.TypeJobRegistered, (*state.Store).JobScale),
	structs.NodePoolUpsertRequestType:               entry(structs.TypeNodePoolUpserted, (*state.Store).NodePoolUpsert),
	structs.NodePoolDeleteRequestType:               entry(structs.TypeNodePoolDeleted, (*state.Store).NodePoolDelete),
	structs.KeyringUpsertRequestType:                entry("", (*state.Store).KeyringUpsert),
	structs.KeyringDeleteRequestType:                entry("", (*state.Store).KeyringDelete),
	structs.VariableApplyRequestType:                entry(structs.TypeVariableUpserted, (*state.Store).VariableApply),
	structs.VariablesRekeyRequestType:               entry("", (*state.Store).VariablesRekey),
}
