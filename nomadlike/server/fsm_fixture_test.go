package server

import (
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// fixtureEntry is one Raft entry of the FSM fixture.
type fixtureEntry struct {
	name string
	typ  structs.MessageType
	body any
}

// Fixed IDs of the FSM fixture, so its snapshot is byte-for-byte reproducible.
const (
	fxNode1      = "11111111-0000-4000-8000-000000000001"
	fxNode2      = "11111111-0000-4000-8000-000000000002"
	fxEvalWeb    = "22222222-0000-4000-8000-000000000001"
	fxEvalOld    = "22222222-0000-4000-8000-000000000002"
	fxEvalBlock  = "22222222-0000-4000-8000-000000000003"
	fxEvalStop   = "22222222-0000-4000-8000-000000000004"
	fxEvalDrain  = "22222222-0000-4000-8000-000000000005"
	fxEvalClient = "22222222-0000-4000-8000-000000000006"
	fxEvalPurge  = "22222222-0000-4000-8000-000000000007"
	fxEvalScale  = "22222222-0000-4000-8000-00000000000a"
	fxAllocOld   = "33333333-0000-4000-8000-000000000001"
	fxAllocWeb   = "33333333-0000-4000-8000-000000000002"
	fxAllocWeb2  = "33333333-0000-4000-8000-000000000003"
	fxDeployWeb  = "44444444-0000-4000-8000-000000000001"
	fxDeployOld  = "44444444-0000-4000-8000-000000000002"
	fxService1   = "_nomad-task-33333333-web-http"
	fxService2   = "_nomad-task-33333333-web-admin"
	// fxRequestWeb is the request ID of web's register (structs.WriteOnce).
	fxRequestWeb = "55555555-0000-4000-8000-000000000001"
)

// fxTime is the fixture's clock: second s of the fixture's day.
func fxTime(s int) time.Time {
	return time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC).Add(time.Duration(s) * time.Second)
}

func fxNode(id, name string) *structs.Node {
	n := mockNode(name)
	n.ID, n.SecretID = id, id
	n.Status = structs.NodeStatusReady
	n.StatusUpdatedAt = fxTime(0).Unix()
	return n
}

func fxJob(id string) *structs.Job {
	j := mockJob(id, 1, 100, 64)
	j.Canonicalize()
	j.SubmitTime = fxTime(1).UnixNano()
	return j
}

func fxEval(id, jobID, status string) *structs.Evaluation {
	return &structs.Evaluation{ID: id, Namespace: structs.DefaultNamespace, Priority: 50, Type: structs.JobTypeService,
		TriggeredBy: structs.EvalTriggerJobRegister, JobID: jobID, Status: status,
		CreateTime: fxTime(2).UnixNano(), ModifyTime: fxTime(2).UnixNano()}
}

func fxAlloc(id, jobID, nodeID, evalID, deploymentID string) *structs.Allocation {
	return &structs.Allocation{
		ID: id, Namespace: structs.DefaultNamespace, EvalID: evalID, Name: jobID + ".web[0]", NodeID: nodeID,
		JobID: jobID, TaskGroup: "web", DesiredStatus: structs.AllocDesiredStatusRun,
		ClientStatus: structs.AllocClientStatusPending, DeploymentID: deploymentID,
		AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.AllocatedTaskResources{
			"server": {Cpu: structs.AllocatedCpuResources{CpuShares: 100}, Memory: structs.AllocatedMemoryResources{MemoryMB: 64}}}},
	}
}

func fxDeployment(id, jobID string, canaries int) *structs.Deployment {
	return &structs.Deployment{ID: id, Namespace: structs.DefaultNamespace, JobID: jobID, JobVersion: 0,
		JobCreateIndex: 1, Status: structs.DeploymentStatusRunning, StatusDescription: structs.DeploymentStatusDescriptionRunning,
		TaskGroups: map[string]*structs.DeploymentState{"web": {DesiredTotal: 1, DesiredCanaries: canaries, ProgressDeadline: 10 * time.Minute}},
		CreateTime: fxTime(3).UnixNano(), ModifyTime: fxTime(3).UnixNano()}
}

// fsmFixture returns entries of every message type, in an order in which
// each applies cleanly; applied from an empty state they leave rows in
// every table. Each call returns fresh objects.
func fsmFixture() []fixtureEntry {
	healthy := true
	web, old := fxJob("web"), fxJob("old")
	scaledWeb := fxJob("web")
	scaledWeb.TaskGroups[0].Count = 2
	placedOld := fxAlloc(fxAllocOld, "old", fxNode1, fxEvalOld, fxDeployOld)
	placedWeb := fxAlloc(fxAllocWeb, "web", fxNode1, fxEvalWeb, fxDeployWeb)
	placedWeb.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	placedWeb2 := fxAlloc(fxAllocWeb2, "web", fxNode2, fxEvalWeb, "")
	placedWeb2.Name = "web.web[1]"
	blocked := fxEval(fxEvalBlock, "web", structs.EvalStatusBlocked)
	blocked.FailedTGAllocs = map[string]*structs.AllocMetric{"web": {NodesEvaluated: 2, DimensionExhausted: map[string]int{"memory": 2}}}
	doneWeb := fxEval(fxEvalWeb, "web", structs.EvalStatusComplete)
	return fxFixupRekey(fsmFixtureKeyring([]fixtureEntry{
		{"register node 1", structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: fxNode(fxNode1, "n1"), Timestamp: fxTime(0).UnixNano()}},
		{"register node 2", structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: fxNode(fxNode2, "n2"), Timestamp: fxTime(0).UnixNano()}},
		{"scheduler config", structs.SchedulerConfigRequestType, &structs.SchedulerSetConfigRequest{Config: structs.SchedulerConfig{
			SchedulerAlgorithm: structs.SchedulerAlgorithmSpread, PreemptionConfig: structs.PreemptionConfig{ServiceSchedulerEnabled: true}}}},
		{"register job web", structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: web, Eval: fxEval(fxEvalWeb, "web", structs.EvalStatusPending), SubmitTime: fxTime(1).UnixNano(),
			Submission: &structs.JobSubmission{Source: "job \"web\" {}", Format: "hcl2", VariableFlags: map[string]string{"n": "1"}},
			Once:       structs.WriteOnce{RequestID: fxRequestWeb, Fingerprint: "fp-web", Time: fxTime(1).UnixNano()}}},
		// A follower's retry of the same write: a new entry (new eval ID)
		// with the same request ID applies nothing.
		{"register job web retried", structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: fxJob("web"), Eval: fxEval("22222222-0000-4000-8000-00000000000a", "web", structs.EvalStatusPending),
			SubmitTime: fxTime(2).UnixNano(), Once: structs.WriteOnce{RequestID: fxRequestWeb, Fingerprint: "fp-web", Time: fxTime(2).UnixNano()}}},
		{"register job old", structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: old, Eval: fxEval(fxEvalOld, "old", structs.EvalStatusPending), SubmitTime: fxTime(1).UnixNano()}},
		// Two plans the applier checked one after the other, committed
		// together: the second places into the first's deployment.
		{"plan old (batch)", structs.ApplyPlanResultsBatchRequestType, &structs.ApplyPlanResultsBatchRequest{Plans: []*structs.ApplyPlanResultsRequest{
			{Job: fxJob("old"), EvalID: fxEvalOld, Deployment: fxDeployment(fxDeployOld, "old", 0), Timestamp: fxTime(4).UnixNano()},
			{Job: fxJob("old"), EvalID: fxEvalOld, AllocsPlaced: []*structs.Allocation{placedOld}, Timestamp: fxTime(4).UnixNano()}}}},
		{"plan web (preempts old)", structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Job: fxJob("web"), EvalID: fxEvalWeb,
			AllocsPlaced:    []*structs.Allocation{placedWeb, placedWeb2},
			AllocsPreempted: []*structs.Allocation{{ID: fxAllocOld, PreemptedByAllocation: fxAllocWeb}},
			Deployment:      fxDeployment(fxDeployWeb, "web", 1), Evals: []*structs.Evaluation{blocked}, Timestamp: fxTime(5).UnixNano()}},
		{"client update", structs.AllocClientUpdateRequestType, &structs.AllocClientUpdateRequest{Allocs: []*structs.Allocation{
			{ID: fxAllocWeb, NodeID: fxNode1, ClientStatus: structs.AllocClientStatusRunning,
				TaskStates:       map[string]*structs.TaskState{"server": {State: structs.TaskStateRunning, StartedAt: fxTime(6)}},
				DeploymentStatus: &structs.AllocDeploymentStatus{Healthy: &healthy, Timestamp: fxTime(6)}},
			{ID: fxAllocOld, NodeID: fxNode1, ClientStatus: structs.AllocClientStatusComplete}},
			Evals: []*structs.Evaluation{fxEval(fxEvalClient, "web", structs.EvalStatusPending)}, Timestamp: fxTime(6).UnixNano()}},
		// Two clients' requests batched by the leader; the second is a retry
		// of the first (same request ID) and applies nothing.
		{"client update batch", structs.AllocClientUpdateBatchRequestType, &structs.AllocClientUpdateBatchRequest{Parts: []*structs.AllocClientUpdateRequest{
			{Allocs: []*structs.Allocation{{ID: fxAllocWeb, NodeID: fxNode1, ClientStatus: structs.AllocClientStatusRunning}}, Timestamp: fxTime(7).UnixNano(),
				Once: structs.WriteOnce{RequestID: "client-batch-1", Fingerprint: "fp-client", Time: fxTime(7).UnixNano()}},
			{Allocs: []*structs.Allocation{{ID: fxAllocWeb, NodeID: fxNode1, ClientStatus: structs.AllocClientStatusFailed}}, Timestamp: fxTime(7).UnixNano(),
				Once: structs.WriteOnce{RequestID: "client-batch-1", Fingerprint: "fp-client", Time: fxTime(7).UnixNano()}},
		}}},
		{"eval complete", structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{doneWeb}}},
		{"job stability", structs.JobStabilityRequestType, &structs.JobStabilityRequest{JobID: "web", Namespace: structs.DefaultNamespace, JobVersion: 0, Stable: true}},
		{"job version tag", structs.JobVersionTagRequestType, &structs.JobVersionTagRequest{JobID: "web", Namespace: structs.DefaultNamespace, Version: 0,
			Tag: &structs.JobVersionTag{Name: "golden", Description: "the fixture's tag", TaggedTime: fxTime(6).UnixNano()}}},
		{"deployment alloc health", structs.DeploymentAllocHealthRequestType, &structs.DeploymentAllocHealthRequest{DeploymentID: fxDeployWeb,
			HealthyAllocationIDs: []string{fxAllocWeb}, UpdatedAt: fxTime(7).UnixNano()}},
		{"deployment promote", structs.DeploymentPromoteRequestType, &structs.DeploymentPromoteRequest{DeploymentID: fxDeployWeb, All: true,
			Eval: fxEval("22222222-0000-4000-8000-000000000008", "web", structs.EvalStatusPending), UpdatedAt: fxTime(8).UnixNano()}},
		{"deployment status", structs.DeploymentStatusUpdateRequestType, &structs.DeploymentStatusUpdateRequest{
			DeploymentUpdate: &structs.DeploymentStatusUpdate{DeploymentID: fxDeployOld, Status: structs.DeploymentStatusCancelled, StatusDescription: "cancelled by the fixture"},
			UpdatedAt:        fxTime(9).UnixNano()}},
		{"node 2 down", structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{NodeID: fxNode2, Status: structs.NodeStatusDown,
			Event: &structs.NodeEvent{Message: "Node heartbeat missed", Subsystem: "Cluster", Timestamp: fxTime(10)}, Timestamp: fxTime(10).UnixNano()}},
		{"node 2 drain", structs.NodeUpdateDrainRequestType, &structs.NodeUpdateDrainRequest{NodeID: fxNode2,
			DrainStrategy: &structs.DrainStrategy{DrainSpec: structs.DrainSpec{Deadline: time.Hour}, StartedAt: fxTime(11)},
			Event:         &structs.NodeEvent{Message: "Node drain strategy set", Subsystem: "Drain", Timestamp: fxTime(11)},
			Evals:         []*structs.Evaluation{fxEval(fxEvalDrain, "web", structs.EvalStatusPending)}, UpdatedAt: fxTime(11).Unix()}},
		{"node 1 ineligible", structs.NodeUpdateEligibilityRequestType, &structs.NodeUpdateEligibilityRequest{NodeID: fxNode1,
			Eligibility: structs.NodeSchedulingIneligible, Event: &structs.NodeEvent{Message: "Node marked as ineligible for scheduling", Subsystem: "Cluster", Timestamp: fxTime(12)},
			UpdatedAt: fxTime(12).Unix()}},
		{"migrate", structs.AllocUpdateDesiredTransitionRequestType, &structs.AllocUpdateDesiredTransitionRequest{
			Allocs: map[string]*structs.DesiredTransition{fxAllocWeb2: {Migrate: &healthy}}, Timestamp: fxTime(13).UnixNano()}},
		{"alloc stop", structs.AllocDesiredUpdateRequestType, &structs.AllocDesiredUpdateRequest{AllocIDs: []string{fxAllocWeb2},
			DesiredStatus: structs.AllocDesiredStatusStop, Description: "alloc stopped by the fixture",
			Evals: []*structs.Evaluation{fxEval(fxEvalStop, "web", structs.EvalStatusPending)}, Timestamp: fxTime(14).UnixNano()}},
		{"periodic launch", structs.PeriodicLaunchRequestType, &structs.PeriodicLaunchRequest{Launch: structs.PeriodicLaunch{ID: "cron", Namespace: structs.DefaultNamespace, Launch: fxTime(15)}}},
		{"services", structs.ServiceRegistrationUpsertRequestType, &structs.ServiceRegistrationUpsertRequest{Services: []*structs.ServiceRegistration{
			{ID: fxService1, ServiceName: "web", Namespace: structs.DefaultNamespace, NodeID: fxNode1, Datacenter: "dc1", JobID: "web", AllocID: fxAllocWeb, Address: "127.0.0.1", Port: 8080},
			{ID: fxService2, ServiceName: "web-admin", Namespace: structs.DefaultNamespace, NodeID: fxNode1, Datacenter: "dc1", JobID: "web", AllocID: fxAllocWeb, Address: "127.0.0.1", Port: 8081},
		}}},
		{"service delete", structs.ServiceRegistrationDeleteRequestType, &structs.ServiceRegistrationDeleteRequest{Namespace: structs.DefaultNamespace, IDs: []string{fxService2}}},
		{"scale old (error only)", structs.JobScaleRequestType, &structs.JobScaleRequest{Namespace: structs.DefaultNamespace, JobID: "old", Group: "web",
			Event: &structs.ScalingEvent{Time: uint64(fxTime(15).UnixNano()), PreviousCount: 1, Error: true, Message: "no metrics"}}},
		{"scale web", structs.JobScaleRequestType, &structs.JobScaleRequest{Namespace: structs.DefaultNamespace, JobID: "web", Group: "web",
			Job: scaledWeb, Eval: fxEval(fxEvalScale, "web", structs.EvalStatusPending),
			Event: &structs.ScalingEvent{Time: uint64(fxTime(15).UnixNano()), Count: new(int64(2)), PreviousCount: 1,
				Message: "submitted using the fixture", Meta: map[string]any{"by": "fixture", "n": 1.5}}}},
		{"purge old", structs.JobDeregisterRequestType, &structs.JobDeregisterRequest{JobID: "old", Namespace: structs.DefaultNamespace, Purge: true,
			Eval: fxEval(fxEvalPurge, "old", structs.EvalStatusPending), SubmitTime: fxTime(16).UnixNano()}},
		{"stop web", structs.JobDeregisterRequestType, &structs.JobDeregisterRequest{JobID: "web", Namespace: structs.DefaultNamespace,
			Eval: fxEval("22222222-0000-4000-8000-000000000009", "web", structs.EvalStatusPending), SubmitTime: fxTime(17).UnixNano()}},
		{"gc old", structs.EvalDeleteRequestType, &structs.EvalDeleteRequest{Evals: []string{fxEvalOld}, Allocs: []string{fxAllocOld}}},
		{"deployment delete", structs.DeploymentDeleteRequestType, &structs.DeploymentDeleteRequest{Deployments: []string{fxDeployOld}}},
		{"reconcile summaries", structs.ReconcileJobSummariesRequestType, &structs.ReconcileJobSummariesRequest{}},
		{"deregister node 2", structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{NodeIDs: []string{fxNode2}, Timestamp: fxTime(18).UnixNano()}},
		{"acl bootstrap", structs.ACLTokenBootstrapRequestType, &structs.ACLTokenBootstrapRequest{Token: &structs.ACLToken{
			AccessorID: "55555555-0000-4000-8000-000000000001", Name: "Bootstrap Token", Type: structs.ACLManagementToken,
			Global: true, CreateTime: fxTime(19), Hash: structs.HashSecret("fixture-bootstrap-secret")}}},
		{"acl policies", structs.ACLPolicyUpsertRequestType, &structs.ACLPolicyUpsertRequest{Policies: []*structs.ACLPolicy{
			{Name: "web-dev", Description: "submit in web", Rules: `namespace "web" { policy = "write" }`},
			{Name: "old", Rules: `node { policy = "read" }`}}}},
		{"acl policy delete", structs.ACLPolicyDeleteRequestType, &structs.ACLPolicyDeleteRequest{Names: []string{"old"}}},
		{"acl roles", structs.ACLRoleUpsertRequestType, &structs.ACLRoleUpsertRequest{Roles: []*structs.ACLRole{
			{ID: "66666666-0000-4000-8000-000000000001", Name: "web", Policies: []*structs.ACLRolePolicyLink{{Name: "web-dev"}}},
			{ID: "66666666-0000-4000-8000-000000000002", Name: "gone", Policies: []*structs.ACLRolePolicyLink{{Name: "web-dev"}}}}}},
		{"acl role delete", structs.ACLRoleDeleteRequestType, &structs.ACLRoleDeleteRequest{IDs: []string{"66666666-0000-4000-8000-000000000002"}}},
		{"acl tokens", structs.ACLTokenUpsertRequestType, &structs.ACLTokenUpsertRequest{Tokens: []*structs.ACLToken{
			{AccessorID: "55555555-0000-4000-8000-000000000002", Name: "dev", Type: structs.ACLClientToken, Policies: []string{"web-dev"},
				Roles: []*structs.ACLTokenRoleLink{{ID: "66666666-0000-4000-8000-000000000001", Name: "web"}}, CreateTime: fxTime(20), Hash: structs.HashSecret("fixture-dev")},
			{AccessorID: "55555555-0000-4000-8000-000000000003", Name: "gone", Type: structs.ACLClientToken, Policies: []string{"web-dev"}, CreateTime: fxTime(20), Hash: structs.HashSecret("fixture-gone")}}}},
		{"acl token delete", structs.ACLTokenDeleteRequestType, &structs.ACLTokenDeleteRequest{AccessorIDs: []string{"55555555-0000-4000-8000-000000000003"}}},
		{"namespaces", structs.NamespaceUpsertRequestType, &structs.NamespaceUpsertRequest{Namespaces: []*structs.Namespace{
			{Name: "web", Description: "web team", Meta: map[string]string{"owner": "web"}}, {Name: "tmp"}}}},
		{"namespace delete", structs.NamespaceDeleteRequestType, &structs.NamespaceDeleteRequest{Names: []string{"tmp"}}},
		{"node pools", structs.NodePoolUpsertRequestType, &structs.NodePoolUpsertRequest{NodePools: []*structs.NodePool{
			{Name: "gpu", Description: "GPU nodes", Meta: map[string]string{"owner": "ml"},
				SchedulerConfiguration: &structs.NodePoolSchedulerConfiguration{SchedulerAlgorithm: structs.SchedulerAlgorithmSpread}},
			{Name: "scratch"}}}},
		{"node pool delete", structs.NodePoolDeleteRequestType, &structs.NodePoolDeleteRequest{Names: []string{"scratch"}}},
	}))
}

func fsmFixtureKeyring(entries []fixtureEntry) []fixtureEntry {
	return append(entries, []fixtureEntry{
		{"root keys", structs.KeyringUpsertRequestType, &structs.KeyringUpsertRequest{Keys: []*structs.RootKey{
			fxRootKey("77777777-0000-4000-8000-000000000001", structs.RootKeyStateInactive),
			fxRootKey("77777777-0000-4000-8000-000000000002", structs.RootKeyStateActive),
			fxRootKey("77777777-0000-4000-8000-000000000003", structs.RootKeyStateInactive)}}},
		{"root key delete", structs.KeyringDeleteRequestType, &structs.KeyringDeleteRequest{KeyIDs: []string{"77777777-0000-4000-8000-000000000003"}}},
		{"variable set", structs.VariableApplyRequestType, &structs.VariableApplyRequest{Op: structs.VarOpSet,
			Var: fxVariable("web", "nomad/jobs/web", "77777777-0000-4000-8000-000000000001")}},
		{"variable set 2", structs.VariableApplyRequestType, &structs.VariableApplyRequest{Op: structs.VarOpSet,
			Var: fxVariable(structs.DefaultNamespace, "gone", "77777777-0000-4000-8000-000000000002")}},
		{"variable delete", structs.VariableApplyRequestType, &structs.VariableApplyRequest{Op: structs.VarOpDelete,
			Var: &structs.VariableEncrypted{VariableMetadata: structs.VariableMetadata{Namespace: structs.DefaultNamespace, Path: "gone"}}}},
		{"variable lock", structs.VariableApplyRequestType, &structs.VariableApplyRequest{Op: structs.VarOpLockAcquire,
			Var: func() *structs.VariableEncrypted {
				v := fxVariable(structs.DefaultNamespace, "lock/leader", "77777777-0000-4000-8000-000000000002")
				v.Lock = &structs.VariableLock{ID: "88888888-0000-4000-8000-000000000001", TTL: "15s", LockDelay: "15s"}
				return v
			}()}},
		{"variable unlock", structs.VariableApplyRequestType, &structs.VariableApplyRequest{Op: structs.VarOpLockRelease,
			LockID: "88888888-0000-4000-8000-000000000001",
			Var:    &structs.VariableEncrypted{VariableMetadata: structs.VariableMetadata{Namespace: structs.DefaultNamespace, Path: "lock/leader", ModifyTime: fxTime(31).UnixNano()}}}},
		{"variables rekey", structs.VariablesRekeyRequestType, &structs.VariablesRekeyRequest{Vars: []*structs.VariableEncrypted{
			func() *structs.VariableEncrypted {
				v := fxVariable("web", "nomad/jobs/web", "77777777-0000-4000-8000-000000000002")
				v.ModifyIndex = 0 // set below: the index "variable set" is applied at
				return v
			}()}}},
	}...)
}

// fxFixupRekey points the rekey entry at the index the fixture's first
// variable set is applied at (100 + its position), so it re-encrypts.
func fxFixupRekey(entries []fixtureEntry) []fixtureEntry {
	var setAt uint64
	for i, e := range entries {
		switch e.name {
		case "variable set":
			setAt = uint64(100 + i)
		case "variables rekey":
			e.body.(*structs.VariablesRekeyRequest).Vars[0].ModifyIndex = setAt
		}
	}
	return entries
}

// fxRootKey is a root key of the fixture; its wrapped material is fixed
// bytes (the FSM never unwraps).
func fxRootKey(id string, st structs.RootKeyState) *structs.RootKey {
	return &structs.RootKey{KeyID: id, Algorithm: structs.EncryptionAlgorithmAES256GCM, CreateTime: fxTime(30).UnixNano(), State: st,
		WrappedKeys: []*structs.WrappedRootKey{{Provider: kekProviderX25519, KEKID: "0011223344556677",
			EphemeralPublicKey: []byte("fixture-ephemeral-public-key-32b"), Nonce: []byte("fixture-nonc"), Ciphertext: []byte("fixture-ciphertext")}}}
}

// fxVariable is an encrypted variable of the fixture (fixed ciphertext).
func fxVariable(ns, path, keyID string) *structs.VariableEncrypted {
	return &structs.VariableEncrypted{VariableMetadata: structs.VariableMetadata{Namespace: ns, Path: path,
		CreateTime: fxTime(30).UnixNano(), ModifyTime: fxTime(30).UnixNano()}, KeyID: keyID, Nonce: []byte("fixture-nonc"), Data: []byte("fixture-ciphertext-" + path)}
}
