module github.com/hashicorp/go-immutable-radix

require github.com/hashicorp/go-uuid v1.0.0

go 1.22
