variable "image" {
  default = "redis"
}

job "uv" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        image = var.imgae
      }
    }
  }
}
