# The raw_exec example from Nomad's task driver documentation, in a job.
job "docs" {
  datacenters = ["dc1"]
  type        = "batch"

  group "example" {
    task "webservice" {
      driver = "raw_exec"

      config {
        command = "my-binary"
        args    = ["-flag", "1"]
      }
    }
  }
}
