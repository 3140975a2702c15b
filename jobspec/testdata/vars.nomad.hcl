variable "image" {
  type        = string
  default     = "redis:7"
  description = "the image to run"
}

variable "count" {
  type    = number
  default = 2
}

variable "dcs" {
  type    = list(string)
  default = ["dc1"]
}

variable "labels" {
  type = map(string)
  default = {
    team = "core"
  }
}

variable "untyped" {
  default = "plain"
}

locals {
  name   = upper(var.image)
  tags   = concat(var.dcs, ["extra"])
  joined = join(",", local.tags)
}

locals {
  numbers = range(3)
}

job "vars" {
  datacenters = var.dcs

  meta = merge(var.labels, {
    name      = local.name
    joined    = local.joined
    fmt       = format("%s-%03d", "x", 7)
    lower     = lower("ABC")
    split_len = length(split(",", "a,b,c"))
    strlen    = length("hello")
    minmax    = "${min(3, 1, 2)}-${max(3, 1, 2)}"
    abs       = abs(-4)
    coalesce  = coalesce("", "fallback")
    contains  = contains(["a", "b"], "b")
    keys      = join(",", keys({ b = 1, a = 2 }))
    values    = join(",", values({ b = "1", a = "2" }))
    lookup    = lookup({ a = "x" }, "z", "default")
    replace   = replace("a-b-c", "-", "_")
    trimspace = trimspace("  t  ")
    tostring  = tostring(5)
    tonumber  = tonumber("6") + 1
    json      = jsonencode({ a = [1, 2] })
    jsondec   = jsondecode("{\"k\": \"v\"}").k
    element   = element(["p", "q"], 1)
    flatten   = length(flatten([[1], [2, 3]]))
    distinct  = join(",", distinct(["a", "a", "b"]))
    sort      = join(",", sort(["c", "a", "b"]))
    regex     = regex("[0-9]+", "abc123def")
    numbers   = jsonencode(local.numbers)
    untyped   = var.untyped
  })

  group "cache" {
    count = var.count

    task "redis" {
      driver = "raw_exec"
      config {
        command = "/bin/echo"
        args    = [for s in local.tags : "tag-${s}"]
        image   = var.image
      }
    }
  }
}
