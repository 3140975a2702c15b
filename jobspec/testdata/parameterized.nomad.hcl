job "transcode" {
  type = "batch"

  parameterized {
    payload       = "required"
    meta_required = ["input"]
    meta_optional = ["profile", "bitrate"]
  }

  group "work" {
    task "encode" {
      driver = "raw_exec"
      config {
        command = "/bin/cat"
        args    = ["${NOMAD_TASK_DIR}/input.json"]
      }
      dispatch_payload {
        file = "input.json"
      }
    }
  }
}
