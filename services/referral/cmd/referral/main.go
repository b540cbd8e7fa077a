// Command referral runs the referral service: `referral [serve]` or `referral migrate`.
// Configuration comes from WIJKBRUG_* environment variables or the matching flags (-h).
package main

import (
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/services/referral/service"
)

func main() { svc.Main(service.Spec()) }
