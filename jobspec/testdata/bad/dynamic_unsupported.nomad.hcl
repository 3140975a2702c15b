job "j" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      dynamic "vault" {
        for_each = ["a"]
        content {
          name = vault.value
        }
      }
    }
  }
}
