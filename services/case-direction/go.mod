module github.com/wijkbrug/wijkbrug/services/case-direction

go 1.26.0

require github.com/wijkbrug/wijkbrug/pkg v0.0.0

replace github.com/wijkbrug/wijkbrug/pkg => ../../pkg
