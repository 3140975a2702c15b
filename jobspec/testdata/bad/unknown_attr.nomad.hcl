job "example" {
  datacenters = ["dc1"]

  group "web" {
    task "t" {
      driver = "raw_exec"
    }
    cuont = 3
  }
}
