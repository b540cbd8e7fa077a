module github.com/wijkbrug/wijkbrug/cmd/wijkbrug

go 1.26.0

require github.com/wijkbrug/wijkbrug/pkg v0.0.0

replace github.com/wijkbrug/wijkbrug/pkg => ../../pkg

require (
	github.com/wijkbrug/wijkbrug/services/case-direction v0.0.0
	github.com/wijkbrug/wijkbrug/services/intake v0.0.0
	github.com/wijkbrug/wijkbrug/services/provider-monitoring v0.0.0
	github.com/wijkbrug/wijkbrug/services/referral v0.0.0
)

replace (
	github.com/wijkbrug/wijkbrug/services/case-direction => ../../services/case-direction
	github.com/wijkbrug/wijkbrug/services/intake => ../../services/intake
	github.com/wijkbrug/wijkbrug/services/provider-monitoring => ../../services/provider-monitoring
	github.com/wijkbrug/wijkbrug/services/referral => ../../services/referral
)
