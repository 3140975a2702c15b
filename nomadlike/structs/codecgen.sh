#!/bin/sh
# codecgen.sh writes codec.generated.go: msgpack codecs (codec.Selfer) for
# the structs listed in TYPES, with go-msgpack's codecgen, patched through
# a build overlay so that the generated code writes what the reflective
# codec writes:
#   - a struct's fields in name order (codecgen writes them in source order;
#     the reflective codec sorts them; a StructToArray handle, which none of
#     ours is, would get name order too, where reflection uses source order), and
#   - a map's entries in key order under a Canonical handle (codecgen
#     ignores Canonical; codecSelferMapRange in codec.go sorts).
# Run it (`make codecgen`, or `go generate ./nomadlike/structs`) after
# changing any of these structs. TestGeneratedCodecsCover names a struct
# that a listed type reaches and TYPES lacks; TestCodecMatchesReflection
# and TestCodecGolden check the encoding.
set -eu
cd "$(dirname "$0")"

TYPES='JobRegisterRequest|Job|JobSubmission|JobVersionTag|TaskGroup|Task|Action|Affinity|Constraint|Spread|SpreadTarget|
CNIConfig|CheckRestart|DNSConfig|DispatchPayloadConfig|EphemeralDisk|LogConfig|MigrateStrategy|NetworkResource|Port|PortMapping|
ParameterizedJobConfig|PeriodicConfig|ReschedulePolicy|RestartPolicy|Resources|ScalingPolicy|Service|ServiceCheck|
TaskArtifact|TaskLifecycleConfig|Template|UpdateStrategy|VolumeMount|VolumeRequest|WaitConfig|WorkloadIdentity|WriteOnce|
Evaluation|EvaluationStub|EvalUpdateRequest|AllocMetric|plainAllocMetric|NodeScoreMeta|NamedScore|DimensionShortfall|
plainAllocation|AllocDeploymentStatus|AllocNetworkStatus|AllocatedCpuResources|AllocatedMemoryResources|AllocatedResources|
AllocatedSharedResources|AllocatedTaskResources|DesiredTransition|RescheduleEvent|RescheduleTracker|TaskEvent|TaskState|
ApplyPlanResultsRequest|Deployment|DeploymentState|DeploymentStatusUpdate|AllocClientUpdateRequest|AllocClientUpdateBatchRequest|
NodeAllocsPullResponse|NodeAllocsPullRequest|NodeAllocUpdateRequest|NodeClientAllocs'
TYPES=$(printf '%s' "$TYPES" | tr -d '\n')

# The patched generator is a copy of go-msgpack's codec package inside this
# module (a build overlay may not replace files in the module cache), and
# the generated code then imports the real package.
src="$(go list -m -f '{{.Dir}}' github.com/hashicorp/go-msgpack/v2)/codec"
self=$(go list .)
fork=_codecgen/codec
rm -rf _codecgen
trap 'rm -rf _codecgen' EXIT
mkdir -p "$fork"
for f in "$src"/*.go; do
	case "$f" in *_test.go) continue ;; esac
	cp "$f" "$fork/"
done
chmod -R u+w _codecgen
sed -i -e 's/tisfi := ti\.sfiSrc/tisfi := ti.sfiSort/' \
	-e 's/x\.linef("for %sk%s, %sv%s := range %s {", genTempVarPfx, i, genTempVarPfx, i, varname)/x.linef("for %sk%s, %sv%s := range codecSelferMapRange(%s, z.EncBasicHandle().Canonical) {", genTempVarPfx, i, genTempVarPfx, i, varname)/' \
	"$fork/gen.go"
# A struct's field names are matched as bytes: z.StringView allocates a
# string per field read (go-msgpack v2 has no unsafe views), where the
# compiler's switch string(bytes) does not.
sed -i -e 's/x\.linef("%s := z\.StringView(r\.DecodeStringAsBytes())", kName)/x.linef("%s := r.DecodeStringAsBytes()", kName)/' \
	-e 's/x\.line("switch (" + kName + ") {")/x.line("switch string(" + kName + ") {")/' \
	-e 's/x\.line("z\.DecStructFieldNotFound(-1, " + kName + ")")/x.line("z.DecStructFieldNotFound(-1, string(" + kName + "))")/' \
	"$fork/gen.go"
# The copy's Selfer is not the real package's: it must see the types that
# implement the real one (Allocation, NodeScores) as Selfers.
sed -i -e 's/^import (/import (\n\trealcodec "github.com\/hashicorp\/go-msgpack\/v2\/codec"/' \
	-e 's/selferTyp         = reflect\.TypeOf((\*Selfer)(nil))\.Elem()/selferTyp = reflect.TypeOf((*realcodec.Selfer)(nil)).Elem()/' \
	"$fork/helper.go"
if [ "$(grep -c 'ti\.sfiSort // always' "$fork/gen.go")" != 3 ] || ! grep -q codecSelferMapRange "$fork/gen.go" ||
	! grep -q 'switch string(" + kName' "$fork/gen.go" || ! grep -q '"%s := r.DecodeStringAsBytes()"' "$fork/gen.go" ||
	! grep -q 'DecStructFieldNotFound(-1, string(' "$fork/gen.go" ||
	! grep -q 'realcodec.Selfer' "$fork/helper.go"; then
	echo "codecgen.sh: the patch no longer applies to $src" >&2
	exit 1
fi

rm -f codec.generated.go
go run github.com/hashicorp/go-msgpack/v2/codec/codecgen -c "$self/$fork" \
	-nx -d 1978 -st codec -r "^($TYPES)\$" -o codec.generated.go $(ls *.go | grep -v '_test\.go$')
sed -i "s#\"$self/$fork\"#\"github.com/hashicorp/go-msgpack/v2/codec\"#" codec.generated.go
gofmt -l codec.generated.go
