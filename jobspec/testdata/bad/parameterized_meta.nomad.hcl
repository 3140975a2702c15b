job "j" {
  type = "batch"
  parameterized {
    meta_required = ["a", "b"]
    meta_optional = ["b"]
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
    }
  }
}
