package server

import (
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// BenchmarkEntryCodec measures the msgpack encoding and decoding of a
// registration's Raft entry (the job-register-once entry of
// BenchmarkFSMApply) alone.
func BenchmarkEntryCodec(b *testing.B) {
	now := time.Now()
	job := mockJob("bench", 1, 20, 16)
	job.Canonicalize()
	job.SubmitTime = now.UnixNano()
	req := &structs.JobRegisterRequest{Job: job, Eval: jobEval(job, structs.EvalTriggerJobRegister, now), SubmitTime: job.SubmitTime,
		Once: structs.WriteOnce{RequestID: structs.GenerateUUID(), Fingerprint: "0123456789abcdef0123456789abcdef", Time: now.UnixNano()}}
	buf := benchEncode(b, structs.JobRegisterRequestType, req)
	b.Run("encode-job-register", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			benchEncode(b, structs.JobRegisterRequestType, req)
		}
	})
	b.Run("decode-job-register", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var out structs.JobRegisterRequest
			if err := decodeBody(buf[1:], &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
