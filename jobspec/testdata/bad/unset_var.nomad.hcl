variable "image" {
  type = string
}

job "unset" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        image = var.image
      }
    }
  }
}
